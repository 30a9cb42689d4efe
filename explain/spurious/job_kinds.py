"""Job kinds of the spurious-feature app (imported by SpuriousConfig.ready): thin, they call one service."""
