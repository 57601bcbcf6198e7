//! Charts as SVG text: pure functions of labels and integer values (fen, counts), whole pixels
//! computed with integer arithmetic, every text escaped. Each chart is an `<svg role="img">`
//! with a `<title>` naming it, and each mark carries a `<title>` with its exact figure, so
//! screen readers and hovering both get the numbers.

use std::fmt::Write;

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `value × length / max`, in whole pixels (0 when `max` is 0), clamped to `0..=length`.
pub fn scale(value: i64, max: i64, length: i64) -> i64 {
    if max <= 0 {
        return 0;
    }
    let scaled = i128::from(value.max(0)) * i128::from(length) / i128::from(max);
    i64::try_from(scaled).unwrap_or(length).clamp(0, length)
}

/// One bar of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// Short text beside the bar (e.g. a province's two digits).
    pub label: String,
    pub value: i64,
    /// What the bar means, with its exact figure (its tooltip).
    pub title: String,
}

const ROW: i64 = 18;
const LABEL: i64 = 36;

fn open(out: &mut String, width: i64, height: i64, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{t}\" \
         font-family=\"system-ui,sans-serif\" font-size=\"11\"><title>{t}</title>",
        t = escape(title)
    );
}

/// Horizontal bars around a middle axis: positive values to the right (green), negative to
/// the left (red), one row per bar, all to the same scale.
pub fn signed_bars(title: &str, bars: &[Bar]) -> String {
    const HALF: i64 = 300;
    let rows = i64::try_from(bars.len()).unwrap_or(0);
    let (width, height) = (LABEL + 2 * HALF + 8, rows * ROW + 8);
    let max = bars.iter().map(|b| b.value.saturating_abs()).max().unwrap_or(0);
    let axis = LABEL + HALF;
    let mut out = String::new();
    open(&mut out, width, height, title);
    for (row, bar) in (0i64..).zip(bars) {
        let y = row * ROW + 4;
        let length = scale(bar.value.saturating_abs(), max, HALF);
        let (x, fill) = if bar.value < 0 { (axis - length, "#cf222e") } else { (axis, "#1a7f37") };
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{x}\" y=\"{y}\" width=\"{length}\" \
             height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
            y + 12,
            escape(&bar.label),
            ROW - 4,
            escape(&bar.title)
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{axis}\" y1=\"0\" x2=\"{axis}\" y2=\"{height}\" stroke=\"#57606a\"/></svg>"
    );
    out
}

/// One fund's level: a value against a target and an alert line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub label: String,
    pub value: i64,
    /// Drawn as a dark mark (e.g. the required size).
    pub target: i64,
    /// Drawn as a red mark; a value below it is drawn red.
    pub alert: i64,
    pub title: String,
}

/// Horizontal bars of levels, each with its target and alert marks, all to one scale.
pub fn levels(title: &str, levels: &[Level]) -> String {
    const LENGTH: i64 = 600;
    let rows = i64::try_from(levels.len()).unwrap_or(0);
    let (width, height) = (LABEL + LENGTH + 8, rows * ROW + 8);
    let max = levels.iter().map(|l| l.value.max(l.target).max(l.alert)).max().unwrap_or(0);
    let mut out = String::new();
    open(&mut out, width, height, title);
    for (row, level) in (0i64..).zip(levels) {
        let y = row * ROW + 4;
        let fill = if level.value < level.alert { "#cf222e" } else { "#0969da" };
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\">{}</text><g><title>{}</title><rect x=\"{LABEL}\" y=\"{y}\" \
             width=\"{}\" height=\"{}\" fill=\"{fill}\"/>",
            y + 12,
            escape(&level.label),
            escape(&level.title),
            scale(level.value, max, LENGTH),
            ROW - 4
        );
        for (mark, colour) in [(level.target, "#1b1f24"), (level.alert, "#cf222e")] {
            let x = LABEL + scale(mark, max, LENGTH);
            let _ = write!(
                out,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{colour}\" \
                 stroke-width=\"2\"/>",
                y - 2,
                y + ROW - 2
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// Nine shades from light to dark blue: the heat map's scale.
const SHADES: [&str; 9] = [
    "#f0f6ff", "#dbe9fc", "#bcd6f7", "#93bdf0", "#679fe6", "#3f80d6", "#2463bd", "#164a99",
    "#0b3170",
];

/// A square grid: `cell(row, column)` is the value and tooltip of a cell, `None` when empty.
/// Rows and columns share `labels`; a cell's shade grows with its value, the largest darkest.
pub fn heat_map(
    title: &str,
    labels: &[String],
    cell: impl Fn(usize, usize) -> Option<(i64, String)>,
) -> String {
    const SIZE: i64 = 16;
    let n = i64::try_from(labels.len()).unwrap_or(0);
    let side = LABEL + n * SIZE + 4;
    let values: Vec<Vec<Option<(i64, String)>>> =
        (0..labels.len()).map(|r| (0..labels.len()).map(|c| cell(r, c)).collect()).collect();
    let max = values.iter().flatten().flatten().map(|(v, _)| *v).max().unwrap_or(0);
    let top = i64::try_from(SHADES.len()).unwrap_or(1) - 1;
    let mut out = String::new();
    open(&mut out, side, side, title);
    for (i, label) in (0i64..).zip(labels) {
        let at = LABEL + i * SIZE;
        let _ = write!(
            out,
            "<text x=\"2\" y=\"{}\">{l}</text><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{l}</text>",
            at + 12,
            at + SIZE / 2,
            LABEL - 8,
            l = escape(label)
        );
    }
    for (r, row) in (0i64..).zip(&values) {
        for (c, value) in (0i64..).zip(row) {
            let Some((value, tip)) = value else { continue };
            // Shade 1..=8 for positive values by their share of the largest; 0 for the rest.
            let shade = if *value > 0 { scale(*value, max, top).max(1) } else { 0 };
            let fill = SHADES.get(usize::try_from(shade).unwrap_or(0)).unwrap_or(&SHADES[0]);
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
                LABEL + c * SIZE,
                LABEL + r * SIZE,
                SIZE - 1,
                SIZE - 1,
                escape(tip)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Vertical bars of counts with their labels underneath.
pub fn histogram(title: &str, buckets: &[(String, i64)]) -> String {
    const HEIGHT: i64 = 200;
    const WIDTH: i64 = 56;
    let n = i64::try_from(buckets.len()).unwrap_or(0);
    let (width, height) = (n * WIDTH + 8, HEIGHT + 40);
    let max = buckets.iter().map(|(_, count)| *count).max().unwrap_or(0);
    let mut out = String::new();
    open(&mut out, width, height, title);
    for (i, (label, count)) in (0i64..).zip(buckets) {
        let bar = scale(*count, max, HEIGHT);
        let x = i * WIDTH + 4;
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{bar}\" fill=\"#0969da\"><title>{} ms: \
             {count}</title></rect><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{count}</text>",
            HEIGHT + 4 - bar,
            WIDTH - 6,
            escape(label),
            x + WIDTH / 2 - 3,
            HEIGHT + 18,
            escape(label),
            x + WIDTH / 2 - 3,
            HEIGHT + 34
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: i64) -> Bar {
        Bar { label: label.into(), value, title: format!("{label} <{value}>") }
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(escape("湖北 42"), "湖北 42");
    }

    #[test]
    fn scale_is_whole_pixels_and_never_divides_by_zero() {
        assert_eq!(scale(50, 100, 300), 150);
        assert_eq!(scale(1, 3, 100), 33);
        assert_eq!(scale(5, 0, 300), 0);
        assert_eq!(scale(-5, 10, 300), 0);
        assert_eq!(scale(i64::MAX, i64::MAX, 300), 300);
        assert_eq!(scale(200, 100, 300), 300);
    }

    #[test]
    fn signed_bars_go_either_way_of_the_axis_to_one_scale() {
        let svg = signed_bars("net <positions>", &[bar("42", -200), bar("44", 100), bar("11", 0)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>net &lt;positions&gt;</title>"));
        // Axis at 36 + 300: −200 is the largest, 300 px to the left; +100 is 150 px right.
        assert!(svg.contains(r##"<rect x="36" y="4" width="300" height="14" fill="#cf222e">"##));
        assert!(svg.contains(r##"<rect x="336" y="22" width="150" height="14" fill="#1a7f37">"##));
        assert!(svg.contains("<title>42 &lt;-200&gt;</title>"));
        assert_eq!(svg.matches("<rect").count(), 3);
    }

    #[test]
    fn levels_mark_target_and_alert_and_colour_what_is_below_the_alert() {
        let below =
            Level { label: "42".into(), value: 50, target: 200, alert: 140, title: "t".into() };
        let above =
            Level { label: "44".into(), value: 400, target: 200, alert: 140, title: "u".into() };
        let svg = levels("funds", &[below, above]);
        assert!(svg.contains(r##"width="75" height="14" fill="#cf222e""##));
        assert!(svg.contains(r##"width="600" height="14" fill="#0969da""##));
        // The target (200 of 400) at 36 + 300, the alert line (140) at 36 + 210.
        assert!(svg.contains(r#"x1="336""#) && svg.contains(r#"x1="246""#));
    }

    #[test]
    fn heat_map_shades_by_share_of_the_largest_and_skips_empty_cells() {
        let labels = vec!["11".to_owned(), "42".to_owned()];
        let svg = heat_map("m", &labels, |r, c| match (r, c) {
            (0, 1) => Some((800, "11 → 42".into())),
            (1, 0) => Some((1, "42 → 11".into())),
            (1, 1) => Some((-5, "negative".into())),
            _ => None,
        });
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(r##"fill="#0b3170"><title>11 → 42"##)); // the largest: darkest
        assert!(svg.contains(r##"fill="#dbe9fc"><title>42 → 11"##)); // tiny but not empty
        assert!(svg.contains(r##"fill="#f0f6ff"><title>negative"##));
    }

    #[test]
    fn histogram_bars_rise_from_one_baseline() {
        let svg = histogram("h", &[("0–1".into(), 10), ("1–2".into(), 5), ("2–5".into(), 0)]);
        assert!(svg.contains(r#"y="4" width="50" height="200""#));
        assert!(svg.contains(r#"y="104" width="50" height="100""#));
        assert!(svg.contains(r#"y="204" width="50" height="0""#));
    }
}
