/** Every string from a scenario or result goes through these before it reaches a report. */
export function escapeHtml(text: string): string {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** For GitHub-flavoured Markdown: no raw HTML, no table breaks, no accidental emphasis or links. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/([`*_{}[\]()#+!|>~])/g, '\\$1')
    .replace(/</g, '&lt;')
    .replace(/[\r\n\u2028\u2029]+/g, ' ');
}
