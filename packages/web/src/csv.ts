/**
 * A table as a CSV file's data: URL, for a download link. Cells are quoted as RFC 4180 says, and a
 * text cell that a spreadsheet would run as a formula (=, +, -, @) is prefixed with an apostrophe:
 * a product name is anyone's text.
 */
export function csvHref(header: string[], rows: string[][]): string {
  const defused = (c: string) =>
    /^[=+\-@\t\r]/.test(c) && !/^-?\d+(\.\d+)?$/.test(c) ? `'${c}` : c;
  const quoted = (c: string) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  const text = [header, ...rows]
    .map((r) => r.map((c) => quoted(defused(c))).join(","))
    .join("\r\n");
  return `data:text/csv;charset=utf-8,${encodeURIComponent(text)}`;
}
