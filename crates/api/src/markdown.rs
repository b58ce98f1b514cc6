//! Handouts are Markdown written by teachers; students get them as HTML that is sanitised
//! here, once, so the browser can insert it without running anything a handout smuggles in.

use pulldown_cmark::{html, Options, Parser};

/// Renders Markdown (with tables and strikethrough) to HTML with scripts, event handlers and
/// dangerous URLs removed.
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut unsafe_html = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::clean(&unsafe_html)
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_becomes_html() {
        let html = to_safe_html("Print `Hello`\n\n| a | b |\n|---|---|\n| 1 | 2 |");
        assert!(html.contains("<code>Hello</code>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn scripts_and_handlers_are_removed() {
        let html = to_safe_html(
            "<script>alert(1)</script><img src=x onerror=alert(2)>\n\n[x](javascript:alert(3))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(html.contains("<a"), "the link itself stays: {html}");
        assert!(!html.contains("href=\"javascript:"), "{html}");
    }
}
