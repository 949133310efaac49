//! Turns parsed arguments plus the environment into validated settings: the store path, the
//! colour decision, and the signing secret.

use crate::cli::ColorChoice;
use crate::error::Error;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The app's client secret. Its `Debug` never shows the value, so it cannot leak into logs.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The key bytes, for HMAC only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// The secret from `--secret` or `--secret-file`, else from `HOOKCLI_SECRET`, if any. An
/// empty secret counts as none, so `HOOKCLI_SECRET=` switches checking off rather than
/// checking with "".
pub fn secret(args: &crate::cli::SecretArgs) -> Result<Option<Secret>, Error> {
    secret_from(args, std::env::var_os("HOOKCLI_SECRET"))
}

/// [`secret`] with the environment's value passed in, so it can be tested.
fn secret_from(
    args: &crate::cli::SecretArgs,
    env: Option<std::ffi::OsString>,
) -> Result<Option<Secret>, Error> {
    let mut raw = match (args.secret.as_deref(), args.secret_file.as_deref()) {
        (Some(s), _) => s.as_bytes().to_vec(),
        (None, Some(path)) => std::fs::read(path).map_err(|source| Error::SecretFile {
            path: path.to_path_buf(),
            source,
        })?,
        (None, None) => match env {
            Some(value) => value.into_encoded_bytes(),
            None => return Ok(None),
        },
    };
    // Intercom's client secrets never end in a line break, but a file, a `$(cat …)` or a
    // pasted value often does; kept, it would make every signature a mismatch.
    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        raw.pop();
    }
    if let (None, Some(path), true) = (&args.secret, &args.secret_file, raw.is_empty()) {
        // A file named on purpose but left empty is a mistake, not "check nothing".
        return Err(Error::EmptySecretFile(path.to_path_buf()));
    }
    Ok((!raw.is_empty()).then_some(Secret(raw)))
}

/// The store directory: `--store`/`HOOKCLI_STORE`, else the per-user data directory.
pub fn store_dir(flag: Option<&Path>) -> Result<PathBuf, Error> {
    match flag {
        Some(dir) => Ok(dir.to_path_buf()),
        None => dirs::data_dir()
            .map(|d| d.join("hookcli"))
            .ok_or(Error::NoDataDir),
    }
}

/// Whether stdout gets colour.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            !no_color && !dumb && std::io::stdout().is_terminal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SecretArgs;

    fn inline(s: &str) -> SecretArgs {
        SecretArgs {
            secret: Some(s.into()),
            secret_file: None,
        }
    }

    fn file(path: &Path) -> SecretArgs {
        SecretArgs {
            secret: None,
            secret_file: Some(path.to_path_buf()),
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = secret_from(&inline("hunter2"), None).unwrap().unwrap();
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        assert_eq!(s.expose(), b"hunter2");
    }

    #[test]
    fn empty_secret_is_none() {
        assert!(secret_from(&inline(""), None).unwrap().is_none());
        assert!(secret_from(&inline("\n"), None).unwrap().is_none());
    }

    #[test]
    fn a_trailing_line_break_is_never_part_of_the_secret() {
        let from_env = |v: &str| {
            let none = SecretArgs {
                secret: None,
                secret_file: None,
            };
            secret_from(&none, Some(v.into())).unwrap().unwrap()
        };
        assert_eq!(from_env("s3cret\r\n").expose(), b"s3cret");
        assert_eq!(
            secret_from(&inline("s3cret\n"), None)
                .unwrap()
                .unwrap()
                .expose(),
            b"s3cret"
        );
        // Other whitespace could be meant, and is kept.
        assert_eq!(from_env(" s3cret ").expose(), b" s3cret ");
    }

    #[test]
    fn a_flag_beats_the_environment() {
        let env = || Some(std::ffi::OsString::from("from-env"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "from-file\n").unwrap();
        let from = |args: &SecretArgs| secret_from(args, env()).unwrap().map(|s| s.0);
        assert_eq!(from(&file(&path)), Some(b"from-file".to_vec()));
        assert_eq!(from(&inline("from-flag")), Some(b"from-flag".to_vec()));
        assert_eq!(from(&SecretArgs::default()), Some(b"from-env".to_vec()));
        assert_eq!(
            from(&inline("")),
            None,
            "an explicit empty --secret turns checking off"
        );
    }

    #[test]
    fn an_empty_secret_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "\n").unwrap();
        let err = secret_from(&file(&path), None).unwrap_err().to_string();
        assert!(err.contains("is empty"), "{err}");
    }

    #[test]
    fn secret_file_drops_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(
            secret_from(&file(&path), None).unwrap().unwrap().expose(),
            b"abc"
        );
        let missing = secret_from(&file(&dir.path().join("nope")), None).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("cannot read the secret file"));
    }
}
