use std::path::PathBuf;

use crate::StoreError;

/// Which database a URL names. The Any driver hides the backend from queries, but migrations
/// are written per dialect and SQLite needs its directory made, so the store still has to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl(redact(url))),
        }
    }
}

/// The database file a SQLite URL names, parsed the way sqlx does (`sqlite://path`,
/// `sqlite:path`, options after `?`); `None` for an in-memory database.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

pub(crate) fn is_sqlite_memory(url: &str) -> bool {
    matches!(Backend::from_url(url), Ok(Backend::Sqlite))
        && (sqlite_file(url).is_none() || url.contains("mode=memory"))
}

/// Keeps passwords out of errors and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_by_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("sqlite::memory:").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(matches!(
            Backend::from_url("mysql://u:pw@h/db"),
            Err(StoreError::UnsupportedUrl(u)) if u == "mysql://u:***@h/db"
        ));
        assert!(Backend::from_url("no-scheme").is_err());
    }

    #[test]
    fn sqlite_file_paths() {
        assert_eq!(
            sqlite_file("sqlite://data/cdr.db?mode=rwc"),
            Some(PathBuf::from("data/cdr.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/hotline/cdr.db"),
            Some(PathBuf::from("/var/lib/hotline/cdr.db"))
        );
        assert_eq!(sqlite_file("sqlite:cdr.db"), Some(PathBuf::from("cdr.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }

    #[test]
    fn memory_detection() {
        assert!(is_sqlite_memory("sqlite::memory:"));
        assert!(!is_sqlite_memory("sqlite://a.db?mode=rwc"));
        assert!(!is_sqlite_memory("postgres://h/db"));
    }

    #[test]
    fn redaction_hides_only_the_password() {
        assert_eq!(
            redact("postgres://hotline:secret@db:5432/hotline"),
            "postgres://hotline:***@db:5432/hotline"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }
}
