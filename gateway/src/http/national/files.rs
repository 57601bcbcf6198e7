//! The catalogue downloads of the national interface (1301, 1302, 1305–1308) and their file
//! transfer (9102).
//!
//! A download answers a `file_qury_no` naming the catalogue kind and the version range
//! (`C1301-<after>-<upto>`: the items published after the HIS's `ver` up to the version
//! current when it asked), and 9102 returns that file as a zip of one UTF-8, TAB-separated
//! text file, rebuilt from the catalogue on each download — the range fixes its content, so
//! no file needs keeping. Columns: `med_list_codg`, name, spec, unit, begin date, end date
//! (empty: open-ended), version.

use medclear_proto::catalog::v1 as kpb;

use super::{Refusal, text};
use crate::http::AppState;

/// The catalogue kinds each download carries.
pub(super) fn kinds_of(infno: &str) -> Option<&'static [kpb::ItemKind]> {
    Some(match infno {
        "1301" => &[kpb::ItemKind::WesternDrug, kpb::ItemKind::PatentDrug],
        "1302" => &[kpb::ItemKind::Herbal],
        "1305" => &[kpb::ItemKind::Service],
        "1306" => &[kpb::ItemKind::Consumable],
        "1307" => &[kpb::ItemKind::Diagnosis],
        "1308" => &[kpb::ItemKind::Operation],
        _ => return None,
    })
}

/// A download's range, as its `file_qury_no` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileQuery {
    pub(super) infno: u16,
    pub(super) after: i64,
    pub(super) upto: i64,
}

impl FileQuery {
    pub(super) fn number(&self) -> String {
        format!("C{}-{}-{}", self.infno, self.after, self.upto)
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix('C')?.split('-');
        let infno: u16 = parts.next()?.parse().ok()?;
        let after: i64 = parts.next()?.parse().ok()?;
        let upto: i64 = parts.next()?.parse().ok()?;
        let query = Self { infno, after, upto };
        (parts.next().is_none()
            && after >= 0
            && upto >= after
            && kinds_of(&infno.to_string()).is_some())
        .then_some(query)
    }

    pub(super) fn filename(&self) -> String {
        format!("{}_{}.zip", self.infno, self.upto)
    }
}

/// The rows of a download — the items of its kinds published after `after`, up to `upto`
/// (`None`: the version current now) — and the version they go up to.
pub(super) async fn rows(
    state: &AppState,
    infno: &str,
    after: i64,
    upto: Option<i64>,
) -> Result<(Vec<String>, i64), Refusal> {
    let kinds = kinds_of(infno).ok_or_else(|| Refusal::new("unknown_file", "no such download"))?;
    let mut client = state.catalog();
    let (mut rows, mut upto, mut page_token) = (Vec::new(), upto, String::new());
    loop {
        let page = client
            .list_changes(kpb::ListChangesRequest {
                since_ver: after,
                limit: 10_000,
                fixmedins_code: String::new(),
                page_token: page_token.clone(),
            })
            .await?
            .into_inner();
        let last = *upto.get_or_insert(page.current_ver);
        for item in page.items {
            if item.ver <= last && kinds.iter().any(|k| i32::from(*k) == item.kind) {
                let field = |t: &str| t.replace(['\t', '\n', '\r'], " ");
                rows.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    field(&item.code),
                    field(&item.name),
                    field(&item.spec),
                    field(&item.unit),
                    item.begin_date,
                    item.end_date,
                    item.ver
                ));
            }
        }
        if !page.has_more || page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok((rows, upto.unwrap_or(after)))
}

/// Every item's name by code, and every coverage rule, read from the catalogue's change
/// feed from the start.
pub(super) async fn coverage(
    state: &AppState,
) -> Result<(std::collections::HashMap<String, String>, Vec<kpb::Coverage>), Refusal> {
    let mut client = state.catalog();
    let (mut names, mut rules, mut page_token) =
        (std::collections::HashMap::new(), Vec::new(), String::new());
    loop {
        let page = client
            .list_changes(kpb::ListChangesRequest {
                since_ver: 0,
                limit: 10_000,
                fixmedins_code: String::new(),
                page_token: page_token.clone(),
            })
            .await?
            .into_inner();
        names.extend(page.items.into_iter().map(|i| (i.code, i.name)));
        rules.extend(page.coverage);
        if !page.has_more || page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok((names, rules))
}

/// A zip archive of one stored (uncompressed) file, as HIS clients unzip it.
pub(super) fn zip_one(name: &str, contents: &[u8]) -> Result<Vec<u8>, Refusal> {
    let too_large = || Refusal::new("file_too_large", "the file is larger than a zip of 4 GiB");
    let size = u32::try_from(contents.len()).map_err(|_| too_large())?;
    let name_len = u16::try_from(name.len()).map_err(|_| too_large())?;
    let crc = crc32fast::hash(contents);
    // 1980-01-01 00:00 in MS-DOS time: the date is not the content.
    let (time, date) = (0u16, (1u16 << 5) | 1);
    let mut out = Vec::with_capacity(contents.len() + 2 * name.len() + 100);
    let header = |out: &mut Vec<u8>, central: bool| {
        if central {
            out.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes()); // version made by
        } else {
            out.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
        }
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 name
        out.extend_from_slice(&0u16.to_le_bytes()); // stored
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&date.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
    };
    header(&mut out, false);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(contents);
    let central_at = u32::try_from(out.len()).map_err(|_| too_large())?;
    header(&mut out, true);
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out.extend_from_slice(&0u16.to_le_bytes()); // disk
    out.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // external attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // local header at 0
    out.extend_from_slice(name.as_bytes());
    let central_size = u32::try_from(out.len()).map_err(|_| too_large())? - central_at;
    out.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

/// `ver` as HIS clients send it: our catalogue version, or empty / 0 for everything.
pub(super) fn version_of(text_ver: &str) -> Result<i64, Refusal> {
    match text_ver.trim() {
        "" => Ok(0),
        v => v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            Refusal::new("invalid_input", format!("ver {v:?} is not a catalogue version (0, 1, …)"))
        }),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct VersionNode {
    #[serde(default, deserialize_with = "text")]
    pub(super) ver: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct DownloadNode {
    #[serde(default, deserialize_with = "text")]
    pub(super) file_qury_no: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_query_names_its_range_and_nothing_else_parses() {
        let q = FileQuery { infno: 1301, after: 3, upto: 9 };
        assert_eq!(FileQuery::parse(&q.number()), Some(q));
        for bad in ["C1301-9-3", "C9999-0-1", "1301-0-1", "C1301-0-1-2", "C1301--1-2", ""] {
            assert_eq!(FileQuery::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_stored_zip_holds_the_file_as_it_is() {
        let zip = zip_one("1301.txt", "X1\t阿莫西林\n".as_bytes()).unwrap();
        assert_eq!(&zip[..4], b"PK\x03\x04");
        let size = u32::from_le_bytes([zip[18], zip[19], zip[20], zip[21]]);
        let name_len = usize::from(u16::from_le_bytes([zip[26], zip[27]]));
        assert_eq!(&zip[30..30 + name_len], b"1301.txt");
        let body = &zip[30 + name_len..30 + name_len + usize::try_from(size).unwrap()];
        assert_eq!(body, "X1\t阿莫西林\n".as_bytes());
        let crc = u32::from_le_bytes([zip[14], zip[15], zip[16], zip[17]]);
        assert_eq!(crc, crc32fast::hash(body));
        assert_eq!(&zip[zip.len() - 22..zip.len() - 18], b"PK\x05\x06");
    }
}
