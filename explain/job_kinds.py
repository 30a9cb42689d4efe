"""Job kinds of the explain app (imported by ExplainConfig.ready): thin, they call one service."""
