//! Cleaned copies of photos, from hand-built bytes: everything that is not
//! needed to show the image goes, the pixels stay byte for byte, and a
//! damaged file gets no copy (and a reason) instead of a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use testimony::intake::clean::{NoCleanCopy, clean};

fn cleaned(bytes: &[u8]) -> Result<Vec<u8>, NoCleanCopy> {
    clean(bytes).map(|copy| copy.to_vec())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// --- PNG -------------------------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut covered = kind.to_vec();
    covered.extend_from_slice(data);
    out.extend_from_slice(&crc32(&covered).to_be_bytes());
    out
}

/// A 1x1 grey image: IHDR and its pixels (a zlib stream, split over two
/// IDAT chunks as encoders do for large images).
fn ihdr() -> Vec<u8> {
    chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])
}
fn idat_parts() -> [Vec<u8>; 2] {
    [chunk(b"IDAT", &[0x08, 0xD7, 0x63, 0x60]), chunk(b"IDAT", &[0x00, 0x00, 0x00, 0x02, 0x00, 0x01])]
}
fn iend() -> Vec<u8> {
    chunk(b"IEND", &[])
}

fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    for c in chunks {
        out.extend_from_slice(c);
    }
    out
}

#[test]
fn png_keeps_only_what_shows_the_image() {
    let [idat1, idat2] = idat_parts();
    let kept_colour = [
        chunk(b"gAMA", &45455u32.to_be_bytes()),
        chunk(b"cHRM", &[0; 32]),
        chunk(b"sRGB", &[0]),
        chunk(b"PLTE", &[10, 20, 30]),
        chunk(b"tRNS", &[0, 7]),
    ];
    let identifying = [
        chunk(b"iCCP", b"iPhone 15 Pro\0\0CANARY-ICC-DESCRIPTION"),
        chunk(b"caBX", b"jumb c2pa CANARY-C2PA-MANIFEST"),
        chunk(b"eXIf", b"MM\0*CANARY-EXIF-GPS"),
        chunk(b"exIf", b"MM\0*CANARY-EXIF-OLD"),
        chunk(b"zxIf", b"CANARY-ZXIF"),
        chunk(b"tEXt", b"Comment\0CANARY-TEXT"),
        chunk(b"zTXt", b"Comment\0\0CANARY-ZTXT"),
        chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0CANARY-XMP"),
        chunk(b"tIME", b"CANARY-TIME"),
        chunk(b"pHYs", b"CANARY-PHYS"),
        chunk(b"quUx", b"CANARY-UNKNOWN-CHUNK"),
        chunk(b"prVt", b"CANARY-PRIVATE-CHUNK"),
    ];
    let mut all = vec![ihdr()];
    all.extend(identifying[..4].iter().cloned());
    all.extend(kept_colour.iter().cloned());
    all.push(idat1.clone());
    all.extend(identifying[4..8].iter().cloned());
    all.push(idat2.clone());
    all.extend(identifying[8..].iter().cloned());
    all.push(iend());
    let mut original = png(&all);
    original.extend_from_slice(b"CANARY-AFTER-IEND");

    let clean = cleaned(&original).unwrap();
    assert!(!contains(&clean, b"CANARY"), "{}", String::from_utf8_lossy(&clean));
    let mut expected = vec![ihdr()];
    expected.extend(kept_colour.iter().cloned());
    expected.extend([idat1, idat2, iend()]);
    assert_eq!(clean, png(&expected), "exactly the allowed chunks, byte for byte, in their order");
}

#[test]
fn png_animation_chunks_stay() {
    let [idat1, idat2] = idat_parts();
    let actl = chunk(b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0]);
    let fctl = chunk(b"fcTL", &[0; 26]);
    let fdat = chunk(b"fdAT", &[0, 0, 0, 1, 0x08, 0xD7]);
    let original = png(&[ihdr(), actl.clone(), fctl.clone(), idat1.clone(), idat2.clone(), fdat.clone(), iend()]);
    assert_eq!(cleaned(&original).unwrap(), original);
}

#[test]
fn damaged_pngs_get_no_cleaned_copy_and_a_reason() {
    let [idat1, idat2] = idat_parts();
    let good = png(&[ihdr(), idat1.clone(), idat2.clone(), iend()]);
    assert_eq!(cleaned(&good).unwrap(), good);
    let mut bad_crc = idat1.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    let mut huge = ihdr();
    huge[..4].copy_from_slice(&0x7FFF_FFF0u32.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut inside a chunk", good[..good.len() - 20].to_vec()),
        ("no IEND", png(&[ihdr(), idat1.clone(), idat2.clone()])),
        ("IHDR not first", png(&[idat1.clone(), ihdr(), iend()])),
        ("no pixels", png(&[ihdr(), iend()])),
        ("a kept chunk fails its CRC", png(&[ihdr(), bad_crc, idat2.clone(), iend()])),
        ("a length past the end", png(&[huge, idat1.clone(), iend()])),
        ("only the signature", PNG_SIGNATURE.to_vec()),
        ("a short IHDR", png(&[chunk(b"IHDR", &[0, 0, 0, 1]), idat1.clone(), iend()])),
    ];
    for (what, bytes) in cases {
        match cleaned(&bytes) {
            Err(NoCleanCopy::Damaged(reason)) => assert!(!reason.is_empty(), "{what}"),
            other => panic!("{what}: expected a refusal with a reason, got {other:?}"),
        }
    }
}

// --- JPEG ------------------------------------------------------------------

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

const SOI: [u8; 2] = [0xFF, 0xD8];
const EOI: [u8; 2] = [0xFF, 0xD9];

fn dqt() -> Vec<u8> {
    let mut p = vec![0x00];
    p.extend((1..=64).map(|i| i as u8));
    segment(0xDB, &p)
}
fn sof2() -> Vec<u8> {
    // Progressive, 8-bit, 1x1, one component.
    segment(0xC2, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0])
}
fn dht(class: u8) -> Vec<u8> {
    let mut p = vec![class];
    p.extend([1u8].into_iter().chain(std::iter::repeat_n(0, 15)));
    p.push(0);
    segment(0xC4, &p)
}
fn dri() -> Vec<u8> {
    segment(0xDD, &[0, 1])
}
/// A scan header and its entropy-coded data: a stuffed FF 00, restart
/// markers and fill bytes, all of which belong to the scan.
fn scan(n: u8) -> Vec<u8> {
    let mut out = segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]);
    out.extend_from_slice(&[0x12, n, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD1, 0x78, 0x9A]);
    out
}

fn jpeg(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn jpeg_keeps_only_what_shows_the_image_across_progressive_scans() {
    let identifying_first = [
        segment(0xE0, b"JFIF\0\x01\x02\x00\x00\x01\x00\x01\x01\x01CANARY-JFIF-THUMBNAIL"),
        segment(0xE1, b"Exif\0\0MM\0*CANARY-EXIF-GPS"),
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>CANARY-XMP</x:xmpmeta>"),
        segment(0xE2, b"ICC_PROFILE\0\x01\x01desc CANARY-ICC-Pixel 8 Pro"),
        segment(0xE2, b"MPF\0CANARY-MPF"),
        segment(0xED, b"Photoshop 3.0\08BIM CANARY-IPTC"),
        segment(0xEB, b"JP\0\0CANARY-JUMBF-C2PA"),
        segment(0xEF, b"CANARY-APP15"),
        segment(0xFE, b"CANARY-COMMENT"),
    ];
    let between_scans = [
        segment(0xFE, b"CANARY-COMMENT-BETWEEN-SCANS"),
        segment(0xE1, b"Exif\0\0MM\0*CANARY-EXIF-BETWEEN-SCANS"),
        segment(0xF0, b"CANARY-JPG0-EXTENSION"),
    ];
    let mut parts = vec![SOI.to_vec()];
    parts.extend(identifying_first.iter().cloned());
    parts.extend([dqt(), sof2(), dht(0x00), dri(), scan(1)]);
    parts.extend(between_scans.iter().cloned());
    parts.extend([dht(0x10), scan(2)]);
    parts.push(segment(0xFE, b"CANARY-COMMENT-BEFORE-END"));
    parts.push(EOI.to_vec());
    let mut original = jpeg(&parts);
    // What phones append after the main image: a second image with its
    // own EXIF, a motion-photo video.
    original.extend_from_slice(&jpeg(&[SOI.to_vec(), segment(0xE1, b"Exif\0\0CANARY-2ND"), EOI.to_vec()]));
    original.extend_from_slice(b"ftypmp4 CANARY-VIDEO");

    let clean = cleaned(&original).unwrap();
    assert!(!contains(&clean, b"CANARY"), "{}", String::from_utf8_lossy(&clean));
    assert!(!contains(&clean, b"ICC_PROFILE") && !contains(&clean, b"JFIF"));
    let expected = jpeg(&[SOI.to_vec(), dqt(), sof2(), dht(0x00), dri(), scan(1), dht(0x10), scan(2), EOI.to_vec()]);
    assert_eq!(clean, expected, "tables, frame and scans byte for byte, in their order");
}

#[test]
fn jpeg_adobe_segment_keeps_only_its_colour_transform() {
    let mut adobe = b"Adobe\x00\x64\x80\x00\x00\x00\x01".to_vec();
    adobe.extend_from_slice(b"CANARY-ADOBE-EXTRA");
    let original = jpeg(&[SOI.to_vec(), segment(0xEE, &adobe), dqt(), sof2(), dht(0), scan(1), EOI.to_vec()]);
    let clean = cleaned(&original).unwrap();
    assert!(!contains(&clean, b"CANARY"));
    let kept = segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01");
    assert_eq!(clean, jpeg(&[SOI.to_vec(), kept, dqt(), sof2(), dht(0), scan(1), EOI.to_vec()]));
}

#[test]
fn damaged_jpegs_get_no_cleaned_copy_and_a_reason() {
    let good = jpeg(&[SOI.to_vec(), dqt(), sof2(), dht(0), scan(1), EOI.to_vec()]);
    assert_eq!(cleaned(&good).unwrap(), good);
    let mut bad_length = segment(0xE1, b"Exif");
    bad_length[2..4].copy_from_slice(&[0x00, 0x01]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut inside the scan", good[..good.len() - 4].to_vec()),
        ("cut inside a segment", good[..10].to_vec()),
        ("only SOI", SOI.to_vec()),
        ("no scan", jpeg(&[SOI.to_vec(), dqt(), sof2(), EOI.to_vec()])),
        ("a second SOI", jpeg(&[SOI.to_vec(), SOI.to_vec(), dqt(), scan(1), EOI.to_vec()])),
        ("a length below two", jpeg(&[SOI.to_vec(), bad_length, scan(1), EOI.to_vec()])),
        ("a length past the end", jpeg(&[SOI.to_vec(), vec![0xFF, 0xE1, 0xFF, 0xFF, 1, 2, 3]])),
        ("junk where a marker belongs", jpeg(&[SOI.to_vec(), vec![0x00, 0x11], scan(1), EOI.to_vec()])),
    ];
    for (what, bytes) in cases {
        match cleaned(&bytes) {
            Err(NoCleanCopy::Damaged(reason)) => assert!(!reason.is_empty(), "{what}"),
            other => panic!("{what}: expected a refusal with a reason, got {other:?}"),
        }
    }
}

#[test]
fn other_files_get_no_cleaned_copy() {
    assert_eq!(cleaned(b"%PDF-1.7 not an image"), Err(NoCleanCopy::NotAnImage));
    assert_eq!(cleaned(b""), Err(NoCleanCopy::NotAnImage));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever arrives, the cleaner answers instead of panicking: raw
    /// bytes, bytes behind each signature, and damaged real images.
    #[test]
    fn the_cleaner_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        kind in 0u8..4,
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
    ) {
        let mut bytes = match kind {
            0 => body.clone(),
            1 => [&SOI[..], &body].concat(),
            2 => [PNG_SIGNATURE, &body].concat(),
            _ => {
                let [idat1, idat2] = idat_parts();
                let mut image = if body.first().is_some_and(|b| b % 2 == 0) {
                    png(&[ihdr(), chunk(b"tEXt", &body), idat1, idat2, iend()])
                } else {
                    jpeg(&[SOI.to_vec(), segment(0xFE, &body[..body.len().min(200)]), dqt(), sof2(), dht(0), scan(1), EOI.to_vec()])
                };
                let keep = cut.index(image.len() + 1);
                if keep < image.len() && body.len() % 3 == 0 {
                    image.truncate(keep);
                }
                image
            }
        };
        if !bytes.is_empty() && kind == 3 {
            for (at, value) in &flips {
                let i = at.index(bytes.len());
                bytes[i] ^= value;
            }
        }
        if let Ok(copy) = cleaned(&bytes) {
            prop_assert!(copy.len() <= bytes.len());
        }
    }
}
