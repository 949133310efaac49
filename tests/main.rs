//! Integration tests: they start the built `hookcli` binary and talk to it over loopback.
