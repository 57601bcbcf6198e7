//! Charts as SVG text, for pages and reports: pure functions from labels and whole numbers
//! (`i64`, e.g. fen) to a self-contained `<svg>` element, with no script, no style sheet and
//! no external reference, so the result can be inlined in any HTML page or written to a file.
//!
//! * [`signed_bars`]: one horizontal bar per label around a zero axis — positive values to the
//!   right, negative to the left (e.g. receivables and payables by counterpart province).
//! * [`level_bar`]: one level against marks on the same scale (e.g. a prepaid fund's deposit
//!   against its alert line and its required size).
//!
//! Coordinates are computed in integers (values are scaled with 128-bit products, so any
//! `i64` is safe); all text is escaped. Each chart is `role="img"` with an `aria-label` (the
//! title), a `<title>`, and a `<desc>` that lists every value, so a screen reader gets the
//! numbers; each bar has its own `<title>` (a tooltip) and `data-label` / `data-value`
//! attributes (the exact value, for tests and tools). Values are never told by colour alone:
//! direction and the signed value text say it too.

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
    let title = escape(title);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" \
         aria-label=\"{title}\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" \
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
}
