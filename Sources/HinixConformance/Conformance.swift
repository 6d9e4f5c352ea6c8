// The conformance bench: checks of the catalog against the running kernel.
