"""Job kinds of the synthetic app (imported by SyntheticConfig.ready): thin, they call one service."""
