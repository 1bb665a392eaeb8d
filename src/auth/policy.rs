//! What a password must be: at least 12 characters (counted as characters,
//! so every script is treated alike), at most 1,024, and not easy to guess
//! as judged by zxcvbn (score 3 of 4 or better), which also rejects the
//! account's own name. No composition rules: they make passwords harder to
//! remember, not harder to guess.

use zxcvbn::feedback::Warning;
use zxcvbn::{Score, zxcvbn};

use crate::crypto::Password;
use crate::i18n::Message;

/// The password, or why not: one sentence a reviewer can act on, from the
/// reviewer catalogue (the command line prints its English).
pub fn check(text: String, account: &str) -> Result<Password, Message> {
    let password = Password::new(text)?;
    let estimate = zxcvbn(password.expose(), &[account, "testimony"]);
    if estimate.score() < Score::Three {
        let hint = estimate.feedback().and_then(|f| f.warning()).map_or("password-hint-guessed-quickly", hint_id);
        return Err(Message::new("password-too-easy").arg_message("hint", hint));
    }
    Ok(password)
}

/// The catalogue's words for zxcvbn's warning (the same as its English).
fn hint_id(warning: Warning) -> &'static str {
    match warning {
        Warning::StraightRowsOfKeysAreEasyToGuess => "password-hint-straight-rows",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "password-hint-keyboard-patterns",
        Warning::RepeatsLikeAaaAreEasyToGuess => "password-hint-repeats",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => "password-hint-repeated-sequences",
        Warning::ThisIsATop10Password => "password-hint-top-10",
        Warning::ThisIsATop100Password => "password-hint-top-100",
        Warning::ThisIsACommonPassword => "password-hint-common",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "password-hint-similar-to-common",
        Warning::SequencesLikeAbcAreEasyToGuess => "password-hint-sequences",
        Warning::RecentYearsAreEasyToGuess => "password-hint-recent-years",
        Warning::AWordByItselfIsEasyToGuess => "password-hint-single-word",
        Warning::DatesAreOftenEasyToGuess => "password-hint-dates",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "password-hint-names",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "password-hint-common-names",
    }
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
        let err = check("canarycanary1".into(), "ada").err().unwrap().to_string();
        assert!(!err.contains("canarycanary1"));
    }

    #[test]
    fn the_hints_say_what_zxcvbn_says() {
        use Warning::*;
        let all = [
            StraightRowsOfKeysAreEasyToGuess,
            ShortKeyboardPatternsAreEasyToGuess,
            RepeatsLikeAaaAreEasyToGuess,
            RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
            ThisIsATop10Password,
            ThisIsATop100Password,
            ThisIsACommonPassword,
            ThisIsSimilarToACommonlyUsedPassword,
            SequencesLikeAbcAreEasyToGuess,
            RecentYearsAreEasyToGuess,
            AWordByItselfIsEasyToGuess,
            DatesAreOftenEasyToGuess,
            NamesAndSurnamesByThemselvesAreEasyToGuess,
            CommonNamesAndSurnamesAreEasyToGuess,
        ];
        for warning in all {
            assert_eq!(Message::new(hint_id(warning)).to_string(), warning.to_string());
        }
        let weak = check("password1234".into(), "ada").err().unwrap().to_string();
        assert!(weak.starts_with("this password is too easy to guess ("), "{weak}");
    }
}
