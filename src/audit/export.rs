//! The text form of a checkpoint, for `audit checkpoint` to print and
//! `audit verify --checkpoint` to read: short enough to e-mail or print
//! and keep off the server. The first four lines are exactly the bytes the
//! signature covers.

use super::chain::Checkpoint;

pub fn to_text(cp: &Checkpoint) -> String {
    format!("{}key: {}\nsignature: {}\n", Checkpoint::signed_text(cp.size, &cp.head, &cp.time), cp.key, cp.signature)
}

pub fn from_text(text: &str) -> Result<Checkpoint, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some("testimony-audit-v1 checkpoint") {
        return Err("not a testimony audit checkpoint (the first line is wrong)".into());
    }
    let mut field = |name: &str| -> Result<String, String> {
        let line = lines.next().ok_or_else(|| format!("the checkpoint has no `{name}` line"))?;
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(": "))
            .map(str::to_string)
            .ok_or_else(|| format!("expected `{name}: …` in the checkpoint, found something else"))
    };
    let size = field("size")?.parse().map_err(|_| "the checkpoint's size is not a number".to_string())?;
    Ok(Checkpoint {
        size,
        head: field("head")?,
        time: field("time")?,
        key: field("key")?,
        signature: field("signature")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    #[test]
    fn checkpoint_text_round_trips_and_keeps_its_signature() {
        let key = SigningKey::generate();
        let cp = Checkpoint::sign(42, &"ab".repeat(32), "2026-11-29T10:00:00Z", &key);
        let text = to_text(&cp);
        let back = from_text(&text).unwrap();
        assert_eq!(back, cp);
        assert!(back.is_signed_by(&key.verifying_key()));
        assert!(from_text("hello\n").is_err());
        assert!(from_text(&text.replace("size: 42", "size: forty")).is_err());
    }
}
