#!/usr/bin/env sh
# Build hookcli in release mode from this checkout and install it on the PATH.
# Safe to run again: it replaces the installed binary with the one built from here.
set -eu

cd "$(dirname "$0")"
# The PATH your shell has: the check at the end is about it, not the one this script extends.
user_path=$PATH

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "install.sh: cargo is not installed. Install Rust from https://rustup.rs (or your" >&2
        echo "package manager), open a new shell, and run ./install.sh again." >&2
        exit 1
    fi
fi

echo "Building and installing hookcli (release mode)..." >&2
cargo install --path . --locked --force --quiet

bin_dir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
# Entries compared without a trailing slash; what the user's shell would run, by that PATH.
user_path_trimmed=$(printf '%s' "$user_path" | sed 's#/*:#:#g; s#/*$##')
found=$(PATH=$user_path command -v hookcli | sed 's#//*#/#g' || true)
case ":$user_path_trimmed:" in
    *":$bin_dir:"*)
        if [ -n "$found" ] && [ "$found" != "$bin_dir/hookcli" ]; then
            echo "Installed $bin_dir/hookcli, but your shell runs $found, which comes first on your PATH." >&2
            echo "Remove that one, or put $bin_dir earlier on your PATH." >&2
        else
            echo "Installed $bin_dir/hookcli." >&2
        fi
        ;;
    *)
        echo "Installed $bin_dir/hookcli, but $bin_dir is not on your PATH." >&2
        echo "Add it, e.g.:  echo 'export PATH=\"$bin_dir:\$PATH\"' >> ~/.profile && . ~/.profile" >&2
        echo "Until then run it as $bin_dir/hookcli." >&2
        ;;
esac
