//! The page frame every report shares: the embedded font, A4 with margins, the footer (bundle
//! hash, key id, page n of m) and the document information (title, `/Keywords` naming the
//! bundle hash, dates from the bundle). Reports describe their content as `Block`s; this module
//! lays them out with genpdf.

use std::cell::Cell;
use std::rc::Rc;

use genpdf::elements::{
    Break, FrameCellDecorator, LinearLayout, PaddedElement, Paragraph, TableLayout, UnorderedList,
};
use genpdf::fonts::{FontData, FontFamily};
use genpdf::style::{Style, StyledString};
use genpdf::{Context, Document, Element, Margins, Mm, PageDecorator, Position, render};

use crate::text;
use crate::{RenderError, rewrite};

/// DejaVu Sans Condensed (Bitstream Vera licence, see `fonts/LICENSE`): wide Unicode coverage
/// (Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic, ...) and narrow enough for tables.
static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSansCondensed.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSansCondensed-Bold.ttf");
pub static FONT_FILES: [&[u8]; 2] = [REGULAR, BOLD];

const PAGE_WIDTH: f64 = 210.0;
const MARGIN: f64 = 14.0;
const CONTENT_WIDTH: f64 = PAGE_WIDTH - 2.0 * MARGIN;
const FOOTER_HEIGHT: f64 = 9.0;
const CELL_PADDING: f64 = 1.0;
pub const BODY_SIZE: u8 = 9;
pub const TABLE_SIZE: u8 = 7;
const FOOTER_SIZE: u8 = 7;

/// One piece of a report's content, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Title(String),
    Heading(String),
    Paragraph(String),
    /// A line that must never wrap (a hash): printed in a size at which it fits.
    Line(String),
    /// Label and value pairs, two columns.
    Fields(Vec<(String, String)>),
    Table(Table),
    Bullets(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub weights: Vec<usize>,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<String>,
    /// Set in bold (the inflection step).
    pub emphasis: bool,
}

impl Row {
    pub fn plain(cells: Vec<String>) -> Row {
        Row { cells, emphasis: false }
    }
}

/// What the frame prints around the content and writes into the document information.
#[derive(Debug, Clone)]
pub struct Frame {
    pub title: String,
    pub subject: String,
    pub bundle_hash: String,
    pub key_id: String,
    pub generated_at: String,
    pub creator: String,
}

fn font_family() -> Result<FontFamily<FontData>, RenderError> {
    let font = |data: &'static [u8], builtin| {
        FontData::new(data.to_vec(), builtin).map_err(|e| RenderError::Render(format!("font: {e}")))
    };
    Ok(FontFamily {
        regular: font(REGULAR, None)?,
        bold: font(BOLD, None)?,
        // The reports use no italics. genpdf embeds every font of a family in every PDF, so the
        // italic slots name built-in fonts (a few bytes, never drawn) instead of a second copy
        // of each TTF.
        italic: font(REGULAR, Some(printpdf::BuiltinFont::HelveticaOblique))?,
        bold_italic: font(BOLD, Some(printpdf::BuiltinFont::HelveticaBoldOblique))?,
    })
}

/// Renders `blocks` in `frame` and returns the PDF bytes.
pub fn render(frame: &Frame, blocks: &[Block]) -> Result<Vec<u8>, RenderError> {
    // genpdf knows the page count only once it has laid everything out, so a first pass lays the
    // content out and stops before writing anything (see `EndOfLayout`), and the second prints
    // "page n of m". The footer has a fixed height, so both passes break pages at the same places.
    // The end marker itself can open a page when the content ends at a page's foot, so a write
    // that finds another count is done again with the count it found.
    let mut pages = layout_pass(frame, blocks)?;
    for _ in 0..3 {
        match write_pass(frame, blocks, pages)? {
            (pdf, written) if written == pages => return finish(&pdf, frame),
            (_, written) => pages = written,
        }
    }
    Err(RenderError::Render(format!("the page count did not settle (last {pages})")))
}

/// The document with `blocks` in it, and the shared page counter of its footer.
fn document(
    frame: &Frame,
    blocks: &[Block],
    total: usize,
) -> Result<(Document, Rc<Cell<usize>>), RenderError> {
    let mut doc = Document::new(font_family()?);
    doc.set_minimal_conformance();
    doc.set_font_size(BODY_SIZE);
    doc.set_line_spacing(1.15);
    let pages = Rc::new(Cell::new(0));
    let layout = Layout { doc: &doc };
    let footer = Footer {
        hash_line: layout.clean(&format!("Bundle hash {}", frame.bundle_hash)),
        key_line: format!("Key id {}", frame.key_id),
        title: layout.clean(&frame.title),
        total,
        pages: Rc::clone(&pages),
    };
    let elements: Vec<Box<dyn Element>> =
        blocks.iter().map(|b| layout.element(b)).collect::<Result<_, _>>()?;
    doc.set_page_decorator(footer);
    for element in elements {
        doc.push(BoxedElement(element));
    }
    Ok((doc, pages))
}

fn layout_pass(frame: &Frame, blocks: &[Block]) -> Result<usize, RenderError> {
    let (mut doc, pages) = document(frame, blocks, 0)?;
    let reached = Rc::new(Cell::new(false));
    doc.push(EndOfLayout { reached: Rc::clone(&reached) });
    match doc.render(std::io::sink()) {
        Err(_) if reached.get() => Ok(pages.get()),
        Err(e) => Err(RenderError::Render(e.to_string())),
        Ok(()) => Err(RenderError::Render("the layout pass did not reach the end marker".to_owned())),
    }
}

/// The PDF with "page n of `total`" footers, and how many pages it has.
fn write_pass(frame: &Frame, blocks: &[Block], total: usize) -> Result<(Vec<u8>, usize), RenderError> {
    let (doc, pages) = document(frame, blocks, total)?;
    let mut pdf = Vec::new();
    doc.render(&mut pdf).map_err(|e| RenderError::Render(e.to_string()))?;
    Ok((pdf, pages.get()))
}

/// The last element of the layout pass: reached once everything before it is placed, it stops
/// genpdf before it serialises the document (the costly half of a render: fonts and streams).
struct EndOfLayout {
    reached: Rc<Cell<bool>>,
}

impl Element for EndOfLayout {
    fn render(
        &mut self,
        _context: &Context,
        _area: render::Area<'_>,
        _style: Style,
    ) -> Result<genpdf::RenderResult, genpdf::error::Error> {
        self.reached.set(true);
        Err(genpdf::error::Error::new("end of the layout pass", genpdf::error::ErrorKind::Internal))
    }
}

/// Turns blocks into genpdf elements, measuring text with the document's fonts.
struct Layout<'d> {
    doc: &'d Document,
}

impl Layout<'_> {
    fn has_glyph(&self, c: char) -> bool {
        let cache = self.doc.font_cache();
        let font = cache.default_font_family().regular;
        cache.get_rt_font(font).glyph(c).id().0 != 0
    }

    /// Text the font can show; see `text::printable`.
    fn clean(&self, s: &str) -> String {
        text::printable(s, |c| c == ' ' || self.has_glyph(c))
    }

    fn width(&self, style: Style, s: &str) -> f64 {
        f64::from(style.str_width(self.doc.font_cache(), s))
    }

    /// Cleaned text whose words all fit in `width` millimetres, each with the space after it:
    /// genpdf's wrapper measures a word with its trailing space, and drops a word that does not
    /// fit so (and then cuts the rest of its paragraph at a byte count that no longer matches,
    /// mid-character on multi-byte text: a panic).
    fn fitted(&self, s: &str, style: Style, width: f64) -> String {
        text::break_long_words(&self.clean(s), width, |w| self.width(style, &format!("{w} ")))
    }

    fn paragraph(&self, s: &str, style: Style, width: f64) -> Paragraph {
        Paragraph::new(StyledString::new(self.fitted(s, style, width), style))
    }

    fn element(&self, block: &Block) -> Result<Box<dyn Element>, RenderError> {
        let body = Style::new().with_font_size(BODY_SIZE);
        Ok(match block {
            Block::Title(s) => {
                let style = Style::new().with_font_size(16).bold();
                let mut l = LinearLayout::vertical();
                l.push(self.paragraph(s, style, CONTENT_WIDTH));
                l.push(Break::new(0.6));
                Box::new(l)
            }
            Block::Heading(s) => {
                let style = Style::new().with_font_size(12).bold();
                let mut l = LinearLayout::vertical();
                l.push(Break::new(0.8));
                l.push(self.paragraph(s, style, CONTENT_WIDTH));
                l.push(Break::new(0.3));
                Box::new(l)
            }
            Block::Paragraph(s) => {
                let mut l = LinearLayout::vertical();
                for line in s.split('\n') {
                    l.push(self.paragraph(line, body, CONTENT_WIDTH));
                }
                l.push(Break::new(0.4));
                Box::new(l)
            }
            Block::Line(s) => {
                let s = self.clean(s);
                let size = (5..=BODY_SIZE)
                    .rev()
                    .find(|&size| self.width(Style::new().with_font_size(size), &s) <= CONTENT_WIDTH)
                    .ok_or_else(|| RenderError::Render(format!("the line {s:?} is wider than the page")))?;
                Box::new(Paragraph::new(StyledString::new(s, Style::new().with_font_size(size))))
            }
            Block::Fields(fields) => {
                let table = Table {
                    weights: vec![1, 3],
                    header: Vec::new(),
                    rows: fields.iter().map(|(k, v)| Row::plain(vec![k.clone(), v.clone()])).collect(),
                };
                self.table(&table, BODY_SIZE, true)?
            }
            Block::Table(table) => self.table(table, TABLE_SIZE, false)?,
            Block::Bullets(items) => {
                let mut list = UnorderedList::new();
                for item in items {
                    list.push(self.paragraph(item, body, CONTENT_WIDTH - 8.0));
                }
                let mut l = LinearLayout::vertical();
                l.push(list);
                l.push(Break::new(0.4));
                Box::new(l)
            }
        })
    }

    fn table(
        &self,
        table: &Table,
        size: u8,
        first_column_bold: bool,
    ) -> Result<Box<dyn Element>, RenderError> {
        let total: usize = table.weights.iter().sum();
        let widths: Vec<f64> = table
            .weights
            .iter()
            .map(|w| CONTENT_WIDTH * *w as f64 / total as f64 - 2.0 * CELL_PADDING - 0.5)
            .collect();
        let regular = Style::new().with_font_size(size);
        let bold = regular.bold();
        let mut t = TableLayout::new(table.weights.clone());
        t.set_cell_decorator(FrameCellDecorator::new(true, true, false));
        let mut push = |cells: &[String], style_of: &dyn Fn(usize) -> Style| -> Result<(), RenderError> {
            let mut row = t.row();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let p = self.paragraph(cell, style_of(i), *width);
                row.push_element(PaddedElement::new(p, Margins::all(CELL_PADDING)));
            }
            row.push().map_err(|e| RenderError::Render(e.to_string()))
        };
        if !table.header.is_empty() {
            push(&table.header, &|_| bold)?;
        }
        for r in &table.rows {
            let style = if r.emphasis { bold } else { regular };
            push(&r.cells, &|i| if first_column_bold && i == 0 { bold } else { style })?;
        }
        let mut l = LinearLayout::vertical();
        l.push(t);
        l.push(Break::new(0.5));
        Ok(Box::new(l))
    }
}

/// Lets a boxed element be pushed where genpdf wants a sized one.
struct BoxedElement(Box<dyn Element>);

impl Element for BoxedElement {
    fn render(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        style: Style,
    ) -> Result<genpdf::RenderResult, genpdf::error::Error> {
        self.0.render(context, area, style)
    }
}

/// Margins, and the footer at the bottom of every page.
struct Footer {
    hash_line: String,
    key_line: String,
    title: String,
    total: usize,
    pages: Rc<Cell<usize>>,
}

impl PageDecorator for Footer {
    fn decorate_page<'a>(
        &mut self,
        context: &Context,
        mut area: render::Area<'a>,
        style: Style,
    ) -> Result<render::Area<'a>, genpdf::error::Error> {
        let page = self.pages.get() + 1;
        self.pages.set(page);
        area.add_margins(Margins::trbl(MARGIN, MARGIN, 8.0, MARGIN));
        let height = area.size().height;
        let mut footer = area.clone();
        footer.add_offset(Position::new(0, height - Mm::from(FOOTER_HEIGHT)));
        footer.draw_line(vec![Position::new(0, 0), Position::new(CONTENT_WIDTH, 0)], Style::new());
        footer.add_offset(Position::new(0, 1));
        let small = Style::new().with_font_size(FOOTER_SIZE);
        let total = self.total;
        let mut lines = LinearLayout::vertical();
        lines.push(Paragraph::new(StyledString::new(self.hash_line.clone(), small)));
        lines.push(Paragraph::new(StyledString::new(
            format!("{}   ·   {}   ·   Page {page} of {total}", self.key_line, self.title),
            small,
        )));
        lines.render(context, footer, style)?;
        area.set_height(height - Mm::from(FOOTER_HEIGHT + 2.0));
        Ok(area)
    }
}

/// Writes the document information: genpdf sets only a title (in PDFDocEncoding, which garbles
/// anything outside Latin-1) and printpdf stamps the wall clock and a random id. Here every
/// field comes from the bundle, so the same bundle renders to the same information.
fn finish(pdf: &[u8], frame: &Frame) -> Result<Vec<u8>, RenderError> {
    let hex = |s: &str| {
        let mut out = String::from("<");
        for b in text::pdf_text_string(s) {
            out.push_str(&format!("{b:02X}"));
        }
        out.push('>');
        out
    };
    // The keywords are ASCII (hex digits, `=`, `_`, spaces): a literal string, easy to find.
    let mut info = format!(
        "<</Title{}/Subject{}/Keywords({})/Creator{}/Producer{}",
        hex(&frame.title),
        hex(&frame.subject),
        text::keywords(&frame.bundle_hash, &frame.key_id),
        hex(&frame.creator),
        hex("gov-report (genpdf 0.2, printpdf 0.3)"),
    );
    if let Some(date) = text::pdf_date(&frame.generated_at) {
        info.push_str(&format!("/CreationDate({date})/ModDate({date})"));
    }
    info.push_str(">>");
    let id = frame.bundle_hash.get(..32).unwrap_or(&frame.bundle_hash);
    rewrite::rewrite(pdf, info.as_bytes(), id)
        .ok_or_else(|| RenderError::Render("the PDF printpdf wrote has an unexpected layout".to_owned()))
}
