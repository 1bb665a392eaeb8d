//! Cleaned copies of photos: a JPEG or PNG rebuilt from only what is needed
//! to show its pixels. Never decodes or changes a pixel, never panics on
//! hostile bytes, and answers "no cleaned copy" (with a reason) for
//! anything it cannot walk from start to end.
//!
//! An allowlist, not a list of known metadata to remove: cameras, phones
//! and editors keep inventing places to put a device name, a place or a
//! time (C2PA manifests, ICC descriptions naming the phone, vendor chunks),
//! and a removal list misses the next one. Whatever is not on the list
//! below is dropped, including chunks and segments nobody has named yet.

use zeroize::Zeroizing;

/// Why no cleaned copy was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoCleanCopy {
    #[error("not a JPEG or PNG")]
    NotAnImage,
    /// The file starts like an image but cannot be walked to its end
    /// (cut short, a length past the end, a broken checksum…). The reason
    /// names the structure only, never the file's content.
    #[error("the image is damaged: {0}")]
    Damaged(&'static str),
}

impl NoCleanCopy {
    /// The short code kept in the submission record.
    pub fn code(&self) -> &'static str {
        match self {
            NoCleanCopy::NotAnImage => "not_an_image",
            NoCleanCopy::Damaged(_) => "damaged_image",
        }
    }
}

/// A copy of a JPEG or PNG holding only what is needed to show it.
pub fn clean(bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, NoCleanCopy> {
    if bytes.starts_with(PNG_SIGNATURE) {
        clean_png(bytes)
    } else if bytes.starts_with(&[0xFF, SOI]) {
        clean_jpeg(bytes)
    } else {
        Err(NoCleanCopy::NotAnImage)
    }
}

// --- PNG -------------------------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The chunks a cleaned PNG keeps. Header, palette, pixels, end and
/// transparency are the image. gAMA, cHRM and sRGB are a few fixed numbers
/// about colour and cannot name anything. Not iCCP: an embedded profile's
/// description often names the device (and the profile can be large
/// enough to hide anything). The animation chunks (APNG) hold frame
/// geometry, timing and frame pixels.
const PNG_KEEP: [&[u8; 4]; 11] =
    [b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"acTL", b"fcTL", b"fdAT"];

fn clean_png(bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, NoCleanCopy> {
    let damaged = NoCleanCopy::Damaged;
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    out.extend_from_slice(PNG_SIGNATURE);
    let mut at = PNG_SIGNATURE.len();
    let (mut first, mut pixels) = (true, false);
    loop {
        let header = bytes.get(at..at + 8).ok_or(damaged("the PNG ends before its IEND chunk"))?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        // The format caps a chunk at 2^31 - 1 bytes.
        if len > 0x7FFF_FFFF {
            return Err(damaged("a PNG chunk length is out of range"));
        }
        let kind = [header[4], header[5], header[6], header[7]];
        let end = at
            .checked_add(12)
            .and_then(|n| n.checked_add(len as usize))
            .filter(|end| *end <= bytes.len())
            .ok_or(damaged("a PNG chunk runs past the end of the file"))?;
        let whole = &bytes[at..end];
        if first && (&kind != b"IHDR" || len != 13) {
            return Err(damaged("the PNG does not start with its IHDR chunk"));
        }
        first = false;
        if PNG_KEEP.contains(&&kind) {
            // Copied verbatim, so check it is what its writer meant.
            let (covered, crc) = whole[4..].split_at(whole.len() - 8);
            if crc32(covered).to_be_bytes() != crc {
                return Err(damaged("a PNG chunk fails its checksum"));
            }
            out.extend_from_slice(whole);
            pixels |= &kind == b"IDAT";
        }
        at = end;
        if &kind == b"IEND" {
            // Anything after IEND (an appended file, a trailer) is dropped.
            break;
        }
    }
    if !pixels {
        return Err(damaged("the PNG has no image data"));
    }
    Ok(out)
}

/// CRC-32 as PNG uses it (ISO 3309, reflected, polynomial 0xEDB88320).
/// Bitwise rather than by table: at most 32 MiB per upload, on a blocking
/// thread, and one less dependency to trust.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

// --- JPEG ------------------------------------------------------------------

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DQT: u8 = 0xDB;
const DNL: u8 = 0xDC;
const DRI: u8 = 0xDD;
const DHT: u8 = 0xC4;
const DAC: u8 = 0xCC;
const APP14: u8 = 0xEE;

fn is_rst(marker: u8) -> bool {
    (0xD0..=0xD7).contains(&marker)
}

/// The start-of-frame markers (C0–CF without DHT, the reserved JPG and DAC).
fn is_sof(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && ![DHT, 0xC8, DAC].contains(&marker)
}

/// Walks every marker of the file, scans included, and keeps only: SOI,
/// the quantisation and Huffman tables (DQT, DHT), the arithmetic-coding
/// conditioning (DAC: numbers only, needed to decode arithmetic-coded
/// scans), the frame header (SOF*), restart interval (DRI), the number of
/// lines (DNL: needed when the frame header leaves the height to it), each
/// scan header with its entropy-coded data and restart markers, and EOI.
///
/// Dropped: every APPn (APP0 JFIF and its thumbnail, APP1 Exif and XMP,
/// APP2 ICC profile and MPF, APP11 JUMBF/C2PA, APP13 IPTC, maker segments),
/// COM, the JPGn extensions, and everything after the first EOI (appended
/// images, depth maps, motion-photo videos). No JFIF APP0 is written back:
/// decoders do not need one, and a 3-component image without it is read as
/// YCbCr, as JFIF says. The one exception is APP14 "Adobe", rebuilt from
/// its colour-transform byte alone: without it an RGB or CMYK image made by
/// Adobe software is shown with the wrong (or inverted) colours.
///
/// The orientation a camera records in Exif is lost with Exif: a cleaned
/// photo may show rotated. Rotating would mean decoding the pixels, which
/// this cleaner never does; the reviewer still has the original.
fn clean_jpeg(bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, NoCleanCopy> {
    let damaged = NoCleanCopy::Damaged;
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    out.extend_from_slice(&[0xFF, SOI]);
    let mut at = 2;
    let mut scans = 0u32;
    loop {
        if bytes.get(at) != Some(&0xFF) {
            return Err(if at >= bytes.len() {
                damaged("the JPEG ends before its end-of-image marker")
            } else {
                damaged("the JPEG has bytes where a marker belongs")
            });
        }
        // Any number of 0xFF may pad the space before a marker.
        while bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at + 1).ok_or(damaged("the JPEG ends before its end-of-image marker"))?;
        at += 2;
        match marker {
            EOI => {
                if scans == 0 {
                    return Err(damaged("the JPEG has no image data"));
                }
                out.extend_from_slice(&[0xFF, EOI]);
                return Ok(out);
            }
            SOI | 0x00 => return Err(damaged("the JPEG has a misplaced marker")),
            // Standalone markers without a length: restart markers belong
            // to scans (kept), TEM is a leftover (dropped).
            m if is_rst(m) => out.extend_from_slice(&[0xFF, m]),
            0x01 => {}
            _ => {
                let len_bytes = bytes.get(at..at + 2).ok_or(damaged("a JPEG segment runs past the end of the file"))?;
                let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
                if len < 2 {
                    return Err(damaged("a JPEG segment length is out of range"));
                }
                let end = at + len;
                let payload = bytes.get(at + 2..end).ok_or(damaged("a JPEG segment runs past the end of the file"))?;
                let keep = [SOS, DQT, DHT, DAC, DRI, DNL].contains(&marker) || is_sof(marker);
                if keep {
                    out.extend_from_slice(&bytes[at - 2..end]);
                } else if marker == APP14 && payload.len() >= 12 && payload.starts_with(b"Adobe") {
                    // "Adobe", version 100, no flags, then the transform
                    // byte as given: 0 none (RGB/CMYK), 1 YCbCr, 2 YCCK.
                    out.extend_from_slice(&[0xFF, APP14, 0x00, 0x0E]);
                    out.extend_from_slice(b"Adobe\x00\x64\x00\x00\x00\x00");
                    out.push(payload[11]);
                }
                at = end;
                if marker == SOS {
                    at = copy_scan(bytes, at, &mut out)?;
                    scans += 1;
                }
            }
        }
    }
}

/// Copies a scan's entropy-coded data from `at` up to the next marker that
/// is not a restart marker, and returns where that marker starts. Inside
/// the data an 0xFF is always followed by 0x00 (a stuffed byte), a restart
/// marker, or more 0xFF fill.
fn copy_scan(bytes: &[u8], mut at: usize, out: &mut Vec<u8>) -> Result<usize, NoCleanCopy> {
    let start = at;
    loop {
        // Find the next 0xFF; everything before it is data.
        let next =
            bytes[at..].iter().position(|b| *b == 0xFF).ok_or(NoCleanCopy::Damaged("the JPEG ends inside a scan"))?;
        at += next;
        match bytes.get(at + 1) {
            None => return Err(NoCleanCopy::Damaged("the JPEG ends inside a scan")),
            Some(0x00) => at += 2,
            Some(m) if is_rst(*m) => at += 2,
            Some(0xFF) => {
                // Fill before a marker: look past it.
                let mut probe = at + 1;
                while bytes.get(probe + 1) == Some(&0xFF) {
                    probe += 1;
                }
                match bytes.get(probe + 1) {
                    Some(m) if *m == 0x00 || is_rst(*m) => at = probe + 2,
                    _ => {
                        out.extend_from_slice(&bytes[start..at]);
                        return Ok(at);
                    }
                }
            }
            Some(_) => {
                out.extend_from_slice(&bytes[start..at]);
                return Ok(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_png_reference_value() {
        // The CRC of an empty IEND chunk, as in every PNG.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn reasons_are_codes_for_the_record() {
        assert_eq!(NoCleanCopy::NotAnImage.code(), "not_an_image");
        assert_eq!(NoCleanCopy::Damaged("x").code(), "damaged_image");
    }
}
