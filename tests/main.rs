//! Integration tests: they start the built `hookcli` binary and talk to it over loopback.

#![allow(unreachable_pub)] // the test kit is shared between test modules, not exported

mod cli;
mod common;
mod forward;
mod inspect;
mod listen;
mod replay;
