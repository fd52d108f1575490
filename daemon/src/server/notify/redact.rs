//! Secrets out of a command line before it leaves the machine (a webhook, a desktop
//! notification that a phone may mirror). One pure function, [`redact`], over the text as
//! shown (shell-quoted); each rule is a class of secret, not a string:
//! - the value of an option named like a secret (`--password X`, `--token=X`, `--api-key X`);
//! - `-pVALUE` for the MySQL family of tools;
//! - `NAME=VALUE` where the name says it holds a secret (`AWS_SECRET_ACCESS_KEY=…`,
//!   `token=…` in a URL, `GITHUB_TOKEN=…`);
//! - `Authorization:` header values and `Bearer …` tokens;
//! - a password in a URL (`https://user:pw@host`) or in `-u user:pw`;
//! - tokens recognisable by their shape (GitHub, Slack, OpenAI-style `sk-…`, AWS key ids).
//!
//! What is removed becomes `***`. It errs towards removing too much.

use std::sync::LazyLock;

use regex::Regex;

const HIDDEN: &str = "***";

/// A value as the shell would read it: single-quoted, double-quoted or one bare word.
const VALUE: &str = r#"(?:'[^']*'|"(?:[^"\\]|\\.)*"|[^\s'"&;|]+)"#;
/// Names that say a value is secret.
const SECRET_NAME: &str =
    r"[\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|key|credentials?|signature|auth)[\w.-]*";

static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let rule = |pattern: String, replacement: &'static str| {
        (
            Regex::new(&pattern).expect("redaction patterns are valid"),
            replacement,
        )
    };
    vec![
        // `Authorization: Basic …` up to the end of its quoted argument.
        rule(
            r#"(?i)(authorization:\s*)[^'"\n]+"#.to_string(),
            "${1}***",
        ),
        rule(r"(?i)(\bbearer\s+)[^\s'\x22]+".to_string(), "${1}***"),
        // --password X, --password=X, -password X (and token, secret, api-key, …).
        rule(
            format!(r"(?i)((?:^|\s)--?{SECRET_NAME}(?:=|\s+)){VALUE}"),
            "${1}***",
        ),
        // mysql -pSECRET (a bare -p prompts and carries nothing).
        rule(
            format!(
                r"(?i)(\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mariadb|mariadb-dump)\b[^;&|]*?\s'?-p){VALUE}"
            ),
            "${1}***",
        ),
        // NAME=VALUE for secret-looking names: environment assignments, URL queries.
        rule(
            format!(r"(?i)((?:^|[\s?&;'\x22(])(?:export\s+)?{SECRET_NAME}=){VALUE}"),
            "${1}***",
        ),
        // scheme://user:password@host
        rule(
            r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@'\x22]+:)[^/\s@'\x22]+@".to_string(),
            "${1}***@",
        ),
        // curl -u user:password, --user user:password
        rule(
            r#"((?:^|\s)(?:-u\s*|--user[=\s]+)'?[^:\s'"]+:)[^\s'"]+"#.to_string(),
            "${1}***",
        ),
        // Tokens with a recognisable shape.
        rule(
            r"\b(?:gh[pousr]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b"
                .to_string(),
            HIDDEN,
        ),
    ]
});

/// `text` with every secret the rules recognise replaced by `***`.
pub fn redact(text: &str) -> String {
    RULES
        .iter()
        .fold(text.to_string(), |text, (pattern, replacement)| {
            pattern.replace_all(&text, *replacement).into_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[track_caller]
    fn hides(text: &str, expected: &str) {
        assert_eq!(redact(text), expected, "from {text:?}");
    }

    #[test]
    fn option_values_named_like_secrets_are_hidden() {
        hides("psql --password hunter2 db", "psql --password *** db");
        hides(
            "tool --api-key=abc123 --verbose",
            "tool --api-key=*** --verbose",
        );
        hides("vault login -token 's p'", "vault login -token ***");
        hides("gh auth --with-token", "gh auth --with-token");
    }

    #[test]
    fn mysql_family_attached_passwords_are_hidden() {
        hides("mysql -u root -phunter2 prod", "mysql -u root -p*** prod");
        hides("mysqldump -pS3cret db > x", "mysqldump -p*** db > x");
        hides("mysql -p prod", "mysql -p prod");
        hides("grep -pfoo file", "grep -pfoo file");
    }

    #[test]
    fn secret_assignments_and_url_parameters_are_hidden() {
        hides(
            "AWS_SECRET_ACCESS_KEY=wJalr aws s3 ls",
            "AWS_SECRET_ACCESS_KEY=*** aws s3 ls",
        );
        hides(
            "export GITHUB_TOKEN=abc; gh pr list",
            "export GITHUB_TOKEN=***; gh pr list",
        );
        hides(
            "curl 'https://x.io/api?user=me&token=abc&x=1'",
            "curl 'https://x.io/api?user=me&token=***&x=1'",
        );
        hides("make PREFIX=/usr install", "make PREFIX=/usr install");
    }

    #[test]
    fn authorization_headers_and_bearer_tokens_are_hidden() {
        hides(
            "curl -H 'Authorization: Bearer abc.def' https://api",
            "curl -H 'Authorization: ***' https://api",
        );
        hides("http GET x Bearer eyJhbGci", "http GET x Bearer ***");
    }

    #[test]
    fn url_and_user_passwords_are_hidden() {
        hides(
            "git clone https://me:pw123@github.com/o/r",
            "git clone https://me:***@github.com/o/r",
        );
        hides(
            "curl -u admin:s3cret http://h",
            "curl -u admin:*** http://h",
        );
        hides(
            "psql postgres://app:pw@db/prod",
            "psql postgres://app:***@db/prod",
        );
    }

    #[test]
    fn tokens_with_a_known_shape_are_hidden_anywhere() {
        hides(
            "echo ghp_abcdefghijklmnopqrstuvwxyz0123 | gh auth login",
            "echo *** | gh auth login",
        );
        hides("echo AKIAIOSFODNN7EXAMPLE", "echo ***");
    }

    #[test]
    fn ordinary_commands_are_left_alone() {
        for text in [
            "cargo test --workspace",
            "rm -rf target",
            "git push --force origin main",
            "kubectl apply -f prod.yaml",
        ] {
            hides(text, text);
        }
    }
}
