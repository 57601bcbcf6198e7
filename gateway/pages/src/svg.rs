//! Charts as SVG text, for pages and reports: pure functions from labels and whole numbers
//! (`i64`, e.g. fen) to a self-contained `<svg>` element, with no script, no style sheet and
//! no external reference, so the result can be inlined in any HTML page or written to a file.
//!
//! * [`signed_bars`]: one horizontal bar per label around a zero axis — positive values to the
//!   right, negative to the left (e.g. receivables and payables by counterpart province).
//! * [`level_bar`]: one level against marks on the same scale (e.g. a prepaid fund's deposit
//!   against its alert line and its required size).
//! * [`levels`]: many such levels, one row each, to one scale (every province's fund).
//! * [`heat_map`]: a square grid shaded by value (the bilateral matrix, home × treating).
//! * [`histogram`]: vertical bars of counts (latencies by bucket).
//!
//! Coordinates are computed in integers (values are scaled with 128-bit products, so any
//! `i64` is safe); all text is escaped. Each chart is `role="img"` with an `aria-label` (the
//! title), a `<title>`, and a `<desc>` that lists every value, so a screen reader gets the
//! numbers; each bar has its own `<title>` (a tooltip) and `data-label` / `data-value`
//! attributes (the exact value, for tests and tools). Values are never told by colour alone:
//! direction and the signed value text say it too.

use std::fmt::Write;

/// Formats a value for display (e.g. [`yuan`] for fen amounts, [`plain`] for counts).
pub type Format = fn(i64) -> String;

/// Escapes text for HTML and XML content and attribute values.
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

/// Fen as yuan with two decimals and a sign: `-123456` → `-1234.56`.
pub fn yuan(fen: i64) -> String {
    medclear_common::money::fen_to_yuan(fen)
}

/// The number as it is: `1234` → `1234`.
pub fn plain(value: i64) -> String {
    value.to_string()
}

const WIDTH: i64 = 640;
const TITLE_H: i64 = 32;
const ROW_H: i64 = 30;
const BAR_H: i64 = 18;
const LABEL_W: i64 = 170;
const VALUE_W: i64 = 130;
const PAD: i64 = 8;
const POSITIVE: &str = "#2e7d32";
const NEGATIVE: &str = "#c62828";
const AMBER: &str = "#b26a00";
const TRACK: &str = "#e6e6e6";
const INK: &str = "#1a1a1a";

/// `value × span / total`, rounded down, in 128 bits; 0 when `total` is 0.
fn scale(value: i128, span: i64, total: i128) -> i64 {
    if total == 0 {
        return 0;
    }
    let scaled = value.saturating_mul(i128::from(span)) / total;
    i64::try_from(scaled).unwrap_or(if scaled < 0 { i64::MIN } else { i64::MAX })
}

fn open(title: &str, height: i64, desc: &str) -> String {
    open_sized(title, WIDTH, height, desc)
}

fn open_sized(title: &str, width: i64, height: i64, desc: &str) -> String {
    let title = escape(title);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" \
         aria-label=\"{title}\" viewBox=\"0 0 {width} {height}\" width=\"100%\" \
         preserveAspectRatio=\"xMinYMin meet\" font-family=\"sans-serif\" font-size=\"13\">\
         <title>{title}</title><desc>{}</desc>\
         <text x=\"{PAD}\" y=\"20\" font-size=\"15\" font-weight=\"bold\" fill=\"{INK}\">{title}</text>",
        escape(desc)
    )
}

/// A horizontal bar chart of signed values: one row per `(label, value)`, in the order
/// given, around a zero axis placed so that the largest positive and the largest negative
/// value both fit. Positive bars go right (green), negative left (red); the value, formatted
/// by `format` with its sign, is written at the right of each row. With no rows, the chart
/// says `empty` instead.
pub fn signed_bars(title: &str, bars: &[(String, i64)], format: Format, empty: &str) -> String {
    let rows = i64::try_from(bars.len()).unwrap_or(i64::MAX).max(1);
    let height = TITLE_H + rows.saturating_mul(ROW_H) + PAD;
    let desc: Vec<String> =
        bars.iter().map(|(label, v)| format!("{label}: {}", format(*v))).collect();
    let mut svg =
        open(title, height, &if bars.is_empty() { empty.to_owned() } else { desc.join("; ") });
    if bars.is_empty() {
        svg.push_str(&format!(
            "<text x=\"{PAD}\" y=\"{}\" fill=\"{INK}\">{}</text></svg>",
            TITLE_H + 20,
            escape(empty)
        ));
        return svg;
    }
    let plot_x = LABEL_W;
    let plot_w = WIDTH - LABEL_W - VALUE_W - PAD;
    let most_positive = bars.iter().map(|(_, v)| i128::from(*v)).max().unwrap_or(0).max(0);
    let most_negative = bars.iter().map(|(_, v)| -i128::from(*v)).max().unwrap_or(0).max(0);
    let total = most_positive + most_negative;
    let zero_x = plot_x + scale(most_negative, plot_w, total);
    let bottom = TITLE_H + rows.saturating_mul(ROW_H);
    svg.push_str(&format!(
        "<line x1=\"{zero_x}\" y1=\"{TITLE_H}\" x2=\"{zero_x}\" y2=\"{bottom}\" stroke=\"{INK}\" \
         stroke-width=\"1\"/>"
    ));
    for (i, (label, value)) in bars.iter().enumerate() {
        let row = i64::try_from(i).unwrap_or(0);
        let y = TITLE_H + row * ROW_H;
        let bar_y = y + (ROW_H - BAR_H) / 2;
        let text_y = y + ROW_H / 2 + 5;
        let length = scale(i128::from(*value).abs(), plot_w, total).max(i64::from(*value != 0));
        let (x, colour, class) =
            if *value < 0 { (zero_x - length, NEGATIVE, "neg") } else { (zero_x, POSITIVE, "pos") };
        let shown = format(*value);
        let label = escape(label);
        svg.push_str(&format!(
            "<text x=\"{PAD}\" y=\"{text_y}\" fill=\"{INK}\">{label}</text>\
             <rect class=\"bar {class}\" x=\"{x}\" y=\"{bar_y}\" width=\"{length}\" \
             height=\"{BAR_H}\" fill=\"{colour}\" data-label=\"{label}\" data-value=\"{value}\">\
             <title>{label}: {}</title></rect>\
             <text x=\"{}\" y=\"{text_y}\" text-anchor=\"end\" fill=\"{INK}\">{}</text>",
            escape(&shown),
            WIDTH - PAD,
            escape(&shown),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// One level (`level`: label and value) as a bar against `marks` (label and value each) on
/// the same scale, which runs from 0 to a tenth beyond the largest of them. Each mark is a
/// dashed line with its label and value under the bar. The bar is red below the lowest mark,
/// amber below the highest, green at or above every mark (a value below 0 draws no bar).
pub fn level_bar(title: &str, level: (&str, i64), marks: &[(&str, i64)], format: Format) -> String {
    let (level_label, level_value) = level;
    let rows = i64::try_from(marks.len()).unwrap_or(0);
    let bar_y = TITLE_H + 22;
    let height = bar_y + BAR_H + 12 + (rows + 1) * 20;
    let mut desc = vec![format!("{level_label}: {}", format(level_value))];
    desc.extend(marks.iter().map(|(label, v)| format!("{label}: {}", format(*v))));
    let mut svg = open(title, height, &desc.join("; "));
    let largest = marks.iter().map(|(_, v)| *v).chain([level_value]).max().unwrap_or(0).max(1);
    let top = largest.saturating_add(largest / 10).max(1);
    let plot_x = PAD;
    let plot_w = WIDTH - 2 * PAD;
    let length = scale(i128::from(level_value.max(0)), plot_w, i128::from(top));
    let lowest = marks.iter().map(|(_, v)| *v).min();
    let highest = marks.iter().map(|(_, v)| *v).max();
    let colour = match (lowest, highest) {
        (Some(low), _) if level_value < low => NEGATIVE,
        (_, Some(high)) if level_value < high => AMBER,
        _ => POSITIVE,
    };
    let level_label = escape(level_label);
    let shown = escape(&format(level_value));
    svg.push_str(&format!(
        "<text x=\"{PAD}\" y=\"{}\" fill=\"{INK}\">{level_label}: {shown}</text>\
         <rect x=\"{plot_x}\" y=\"{bar_y}\" width=\"{plot_w}\" height=\"{BAR_H}\" fill=\"{TRACK}\"/>\
         <rect class=\"bar level\" x=\"{plot_x}\" y=\"{bar_y}\" width=\"{length}\" height=\"{BAR_H}\" \
         fill=\"{colour}\" data-label=\"{level_label}\" data-value=\"{level_value}\">\
         <title>{level_label}: {shown}</title></rect>",
        bar_y - 6
    ));
    for (i, (label, value)) in marks.iter().enumerate() {
        let row = i64::try_from(i).unwrap_or(0);
        let x = plot_x + scale(i128::from((*value).max(0)), plot_w, i128::from(top));
        let text_y = bar_y + BAR_H + 16 + row * 20;
        let anchor = if x > WIDTH / 2 { "end" } else { "start" };
        let label = escape(label);
        let shown = escape(&format(*value));
        svg.push_str(&format!(
            "<line class=\"mark\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{INK}\" \
             stroke-width=\"2\" stroke-dasharray=\"4 3\" data-label=\"{label}\" \
             data-value=\"{value}\"><title>{label}: {shown}</title></line>\
             <text x=\"{x}\" y=\"{text_y}\" text-anchor=\"{anchor}\" fill=\"{INK}\">{label}: {shown}</text>",
            bar_y - 4,
            bar_y + BAR_H + 4,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// `value × length / max` in whole pixels, clamped to `0..=length` (0 when `max` ≤ 0).
fn share(value: i64, max: i64, length: i64) -> i64 {
    if max <= 0 {
        return 0;
    }
    scale(i128::from(value.max(0)), length, i128::from(max)).clamp(0, length)
}

/// Row height and label column of [`levels`], [`heat_map`] and [`histogram`].
const ROW: i64 = 18;
const LABEL: i64 = 36;

/// Opens a chart whose marks are drawn below its title, in a group moved down by the title's
/// height.
fn open_below_title(title: &str, width: i64, height: i64, desc: &str) -> String {
    open_sized(title, width, height + TITLE_H, desc)
        + &format!("<g transform=\"translate(0 {TITLE_H})\">")
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
    let desc: Vec<String> = levels.iter().map(|l| l.title.clone()).collect();
    let mut out = open_below_title(title, width, height, &desc.join("; "));
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
            share(level.value, max, LENGTH),
            ROW - 4
        );
        for (mark, colour) in [(level.target, "#1b1f24"), (level.alert, "#cf222e")] {
            let x = LABEL + share(mark, max, LENGTH);
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
    out.push_str("</g></svg>");
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
    let cells = values.iter().flatten().flatten().count();
    let desc = format!("{cells} cells of {n} × {n}; each cell's own title gives its figure");
    let mut out = open_below_title(title, side, side, &desc);
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
            let shade = if *value > 0 { share(*value, max, top).max(1) } else { 0 };
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
    out.push_str("</g></svg>");
    out
}

/// Vertical bars of counts with their labels underneath.
pub fn histogram(title: &str, buckets: &[(String, i64)]) -> String {
    const HEIGHT: i64 = 200;
    const WIDTH: i64 = 56;
    let n = i64::try_from(buckets.len()).unwrap_or(0);
    let (width, height) = (n * WIDTH + 8, HEIGHT + 40);
    let max = buckets.iter().map(|(_, count)| *count).max().unwrap_or(0);
    let desc: Vec<String> =
        buckets.iter().map(|(label, count)| format!("{label}: {count}")).collect();
    let mut out = open_below_title(title, width, height, &desc.join("; "));
    for (i, (label, count)) in (0i64..).zip(buckets) {
        let bar = share(*count, max, HEIGHT);
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
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute<'a>(svg: &'a str, after: &str, name: &str) -> &'a str {
        let start = svg.find(after).unwrap();
        let rest = &svg[start..];
        let at = rest.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let value = &rest[at..];
        &value[..value.find('"').unwrap()]
    }

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("湖北省"), "湖北省");
    }

    #[test]
    fn signed_bars_go_both_ways_from_one_axis_in_proportion() {
        let bars =
            vec![("湖北 receivable".to_owned(), 300_000), ("湖北 payable".to_owned(), -100_000)];
        let svg = signed_bars("Guangdong <by counterpart>", &bars, yuan, "none");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"Guangdong &lt;by counterpart&gt;\""), "{svg}");
        assert!(
            svg.contains("<desc>湖北 receivable: 3000.00; 湖北 payable: -1000.00</desc>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<rect class=\"bar ").count(), 2);
        // Plot: 640 − 170 − 130 − 8 = 332 wide, 400,000 across: the axis at 332 × 1/4 = 83.
        let pos = "data-value=\"300000\"";
        let neg = "data-value=\"-100000\"";
        let find = |needle: &str| svg[..svg.find(needle).unwrap()].rfind("<rect").unwrap();
        let (p, n) = (&svg[find(pos)..], &svg[find(neg)..]);
        assert_eq!((attribute(p, "<rect", "x"), attribute(p, "<rect", "width")), ("253", "249"));
        assert_eq!((attribute(n, "<rect", "x"), attribute(n, "<rect", "width")), ("170", "83"));
        assert!(svg.contains("x1=\"253\""), "the axis at zero");
        assert!(
            p.starts_with("<rect class=\"bar pos\"") && n.starts_with("<rect class=\"bar neg\"")
        );
    }

    #[test]
    fn signed_bars_survive_extremes_and_say_when_empty() {
        let bars = vec![
            ("max".to_owned(), i64::MAX),
            ("min".to_owned(), i64::MIN),
            ("tiny".to_owned(), 1),
        ];
        let svg = signed_bars("extremes", &bars, plain, "none");
        assert_eq!(svg.matches("<rect class=\"bar ").count(), 3);
        assert!(svg.contains(&format!("data-value=\"{}\"", i64::MIN)));
        // Half the plot each way: the axis in the middle, 170 + 166.
        assert!(svg.contains("x1=\"336\""), "{svg}");
        let empty = signed_bars("nothing", &[], plain, "no counterparts");
        assert!(empty.contains("no counterparts") && !empty.contains("<rect"));
        let zero = signed_bars("zero", &[("z".to_owned(), 0)], plain, "none");
        assert_eq!(attribute(&zero, "<rect", "width"), "0");
    }

    #[test]
    fn a_level_bar_is_coloured_by_the_marks_it_reaches() {
        let marks = [("alert line", 70_000), ("required", 100_000)];
        let svg = level_bar("Prepaid fund", ("deposit", 50_000), &marks, yuan);
        // Scale: 110,000 across 624: the deposit is 283 wide, the alert line at 8 + 397.
        assert_eq!(attribute(&svg, "class=\"bar level\"", "width"), "283");
        assert_eq!(attribute(&svg, "class=\"bar level\"", "fill"), NEGATIVE);
        assert_eq!(attribute(&svg, "data-label=\"alert line\"", "data-value"), "70000");
        assert!(svg.contains("<line class=\"mark\" x1=\"405\""), "{svg}");
        assert!(
            svg.contains("<desc>deposit: 500.00; alert line: 700.00; required: 1000.00</desc>")
        );
        let amber = level_bar("f", ("deposit", 80_000), &marks, yuan);
        assert_eq!(attribute(&amber, "class=\"bar level\"", "fill"), AMBER);
        let green = level_bar("f", ("deposit", 100_000), &marks, yuan);
        assert_eq!(attribute(&green, "class=\"bar level\"", "fill"), POSITIVE);
        let nothing = level_bar("f", ("deposit", -5), &[], plain);
        assert_eq!(attribute(&nothing, "class=\"bar level\"", "width"), "0");
    }

    #[test]
    fn shares_are_whole_pixels_and_never_divide_by_zero() {
        assert_eq!(share(50, 100, 300), 150);
        assert_eq!(share(1, 3, 100), 33);
        assert_eq!(share(5, 0, 300), 0);
        assert_eq!(share(-5, 10, 300), 0);
        assert_eq!(share(i64::MAX, i64::MAX, 300), 300);
        assert_eq!(share(200, 100, 300), 300);
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
