//! What a password must be: at least 12 characters (counted as characters,
//! so every script is treated alike), at most 1,024, and not easy to guess
//! as judged by zxcvbn (score 3 of 4 or better), which also rejects the
//! account's own name. No composition rules: they make passwords harder to
//! remember, not harder to guess.

use zxcvbn::{Score, zxcvbn};

use crate::crypto::Password;

/// Message ids of the review side are plain English for now; the reason
/// is one sentence a reviewer can act on.
pub fn check(text: String, account: &str) -> Result<Password, String> {
    let password = Password::new(text)?;
    let estimate = zxcvbn(password.expose(), &[account, "testimony"]);
    if estimate.score() < Score::Three {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()))
            .unwrap_or_else(|| "it would be guessed quickly".to_string());
        return Err(format!("this password is too easy to guess ({hint}); a few unrelated words make a strong one"));
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_and_strong_ones_accepted() {
        assert!(check("password1234".into(), "ada").is_err());
        assert!(check("adaadaadaada".into(), "ada").is_err());
        assert!(check("short".into(), "ada").is_err());
        assert!(check("correct horse battery staple".into(), "ada").is_ok());
        assert!(check("ئۇيغۇرچە تاغ دەريا قۇياش".into(), "ada").is_ok(), "any script");
    }

    #[test]
    fn the_refusal_never_repeats_the_password() {
        let err = check("canarycanary1".into(), "ada").err().unwrap();
        assert!(!err.contains("canarycanary1"));
    }
}
