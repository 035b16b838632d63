import { describe, expect, it } from "vitest";
import { csvHref } from "../src/csv.ts";

const decoded = (href: string) =>
  decodeURIComponent(href.replace(/^data:text\/csv;charset=utf-8,/, "")).split("\r\n");

describe("the CSV downloads", () => {
  it.each([
    ["a plain cell as it is", "Black T-shirt", "Black T-shirt"],
    ["a comma or quote quoted", 'Mug, "large"', '"Mug, ""large"""'],
    ["a line break quoted", "two\nlines", '"two\nlines"'],
    ["a formula defused", '=HYPERLINK("http://evil")', '"\'=HYPERLINK(""http://evil"")"'],
    ["a leading @ or + defused", "@SUM(A1)", "'@SUM(A1)"],
    ["a negative number left a number", "-12.50", "-12.50"],
  ])("writes %s", (_, cell, expected) => {
    // Act
    const [header, row] = decoded(csvHref(["name"], [[cell]]));

    // Assess
    expect(header).toBe("name");
    expect(row).toBe(expected);
  });
});
