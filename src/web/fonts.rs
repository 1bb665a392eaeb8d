//! Fonts for the scripts a witness's machine may lack: Arabic script (for
//! Uyghur and Kazakh) and Tibetan. Tor Browser on a minimal system, or a
//! borrowed laptop, may have neither, and a form in boxes of tofu is a form
//! nobody can fill in.
//!
//! The product serves them itself: never from another host (such hosts are
//! blocked in the PRC and would learn who reads). They are not copied into
//! this repository; they are read at start from the operator's system,
//! where Debian's `fonts-noto-core` puts them, or from `fonts_dir` in the
//! config file. Both are under the SIL Open Font License 1.1:
//!
//! - Noto Naskh Arabic (all of Arabic, Arabic Supplement and Extended-A,
//!   the presentation forms: every Uyghur and Kazakh letter), 172 KiB;
//! - Noto Serif Tibetan (the whole Tibetan block), 582 KiB.
//!
//! The stylesheets declare them with `unicode-range`, after the system
//! fonts that usually have these scripts, so a browser downloads a font
//! only when a page holds a letter of its script that no local font has.
//! A missing file is a warning at start, not a refusal: the pages then
//! fall back to whatever the witness's system has.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use axum::body::Bytes;

/// Where Debian's `fonts-noto-core` installs the fonts.
pub const DEFAULT_DIR: &str = "/usr/share/fonts/truetype/noto";

/// The Debian package that carries them, for the warning.
pub const PACKAGE: &str = "fonts-noto-core";

/// A larger file is not a font we meant to serve.
const MAX_FONT_BYTES: u64 = 8 << 20;

/// One script's face: the name in its URL (`/static/fonts/NAME.ttf`), the
/// file it is read from, and what it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Face {
    pub name: &'static str,
    pub file: &'static str,
    pub script: &'static str,
}

/// Every face the stylesheets declare (a test checks that each is
/// declared there with a `unicode-range`).
pub const FACES: [Face; 2] = [
    Face { name: "arabic", file: "NotoNaskhArabic-Regular.ttf", script: "Arabic script (Uyghur, Kazakh)" },
    Face { name: "tibetan", file: "NotoSerifTibetan-Regular.ttf", script: "Tibetan" },
];

/// The faces found at start, held in memory (under 1 MiB in all).
#[derive(Default)]
pub struct WebFonts {
    loaded: Vec<(Face, Bytes)>,
    missing: Vec<(Face, String)>,
}

impl WebFonts {
    /// Reads every face from `dir`. A face that cannot be read, or is not
    /// a TrueType/OpenType file, is left out and listed in [`missing`].
    ///
    /// [`missing`]: WebFonts::missing
    pub fn load(dir: &Path) -> WebFonts {
        let mut fonts = WebFonts::default();
        for face in FACES {
            let path = dir.join(face.file);
            match read_font(&path) {
                Ok(bytes) => fonts.loaded.push((face, bytes)),
                Err(why) => fonts.missing.push((face, format!("{}: {why}", path.display()))),
            }
        }
        fonts
    }

    /// The faces from [`DEFAULT_DIR`], read once per process.
    pub fn system() -> Arc<WebFonts> {
        static SYSTEM: LazyLock<Arc<WebFonts>> = LazyLock::new(|| Arc::new(WebFonts::load(Path::new(DEFAULT_DIR))));
        SYSTEM.clone()
    }

    /// The font file served as `/static/fonts/{file}`, if it was found.
    pub fn get(&self, file: &str) -> Option<Bytes> {
        let name = file.strip_suffix(".ttf")?;
        self.loaded.iter().find(|(face, _)| face.name == name).map(|(_, bytes)| bytes.clone())
    }

    /// Faces that could not be read, with the reason, for the log at start.
    pub fn missing(&self) -> &[(Face, String)] {
        &self.missing
    }

    /// Logs what is served and what is missing, naming the fix.
    pub fn report(&self) {
        for (face, bytes) in &self.loaded {
            tracing::info!(face = face.name, bytes = bytes.len(), "serving a font for {}", face.script);
        }
        for (face, why) in &self.missing {
            tracing::warn!(
                face = face.name,
                "no font for {} ({why}): witnesses whose systems lack one see empty boxes; \
                 install Debian's {PACKAGE} or set fonts_dir in the config file",
                face.script
            );
        }
    }
}

/// Reads a font file, refusing anything that is not one.
fn read_font(path: &Path) -> Result<Bytes, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_FONT_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FONT_BYTES {
        return Err(format!("larger than {} MiB", MAX_FONT_BYTES >> 20));
    }
    // sfnt versions: TrueType outlines, CFF outlines, Apple's 'true'.
    let magic = bytes.get(..4).unwrap_or_default();
    if !matches!(magic, b"\x00\x01\x00\x00" | b"OTTO" | b"true") {
        return Err("not a TrueType or OpenType font".into());
    }
    Ok(Bytes::from(bytes))
}

/// The configured directory, or the default.
pub fn dir_or_default(configured: Option<PathBuf>) -> PathBuf {
    configured.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_font_files_are_served() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FACES[0].file), b"\x00\x01\x00\x00rest of a font").unwrap();
        std::fs::write(dir.path().join(FACES[1].file), b"<html>not a font</html>").unwrap();
        let fonts = WebFonts::load(dir.path());
        assert_eq!(fonts.get("arabic.ttf").unwrap().as_ref(), b"\x00\x01\x00\x00rest of a font");
        assert!(fonts.get("tibetan.ttf").is_none());
        assert!(fonts.get("arabic").is_none() && fonts.get("../arabic.ttf").is_none());
        assert_eq!(fonts.missing().len(), 1);
        assert!(fonts.missing()[0].1.contains("not a TrueType or OpenType font"));
    }

    #[test]
    fn a_missing_directory_leaves_every_face_missing_without_failing() {
        let fonts = WebFonts::load(Path::new("/nonexistent/fonts"));
        assert_eq!(fonts.missing().len(), FACES.len());
        assert!(fonts.get("arabic.ttf").is_none());
    }
}
