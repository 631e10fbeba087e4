/** PEP 723 blocks, found with the PEP's reference regex and Python's line semantics. */
import { describe, expect, it } from "vitest";
import { findBlocks, readScriptMetadata } from "../src/pep723.js";
import { thrown } from "./support/project.js";

const SCRIPT = [
  "#!/usr/bin/env python3",
  "# /// script",
  '# requires-python = ">=3.11"',
  "# dependencies = [",
  '#   "requests<3",',
  '#   "rich",',
  "# ]",
  "#",
  "# [tool.uv]",
  '# index-url = "https://example.com/simple"',
  "# ///",
  "",
  "import requests",
  "",
].join("\n");

describe("readScriptMetadata", () => {
  it("reads dependencies, requires-python and [tool.uv] from the script block", () => {
    const m = readScriptMetadata(SCRIPT, "app.py")!;
    expect(m.dependencies).toEqual(["requests<3", "rich"]);
    expect(m.requiresPython).toBe(">=3.11");
    expect(m.uv).toEqual({ "index-url": "https://example.com/simple" });
    expect(m.line).toBe(2);
  });

  it("reads a CRLF script exactly as the LF one (Python's universal newlines), and a CR-only one too", () => {
    const lf = readScriptMetadata(SCRIPT, "app.py");
    expect(readScriptMetadata(SCRIPT.replaceAll("\n", "\r\n"), "app.py")).toEqual(lf);
    expect(readScriptMetadata(SCRIPT.replaceAll("\n", "\r"), "app.py")).toEqual(lf);
  });

  it("returns undefined for a script without a block, and for an empty file", () => {
    expect(readScriptMetadata("import sys\nprint(sys.argv)\n", "a.py")).toBeUndefined();
    expect(readScriptMetadata("", "a.py")).toBeUndefined();
  });

  it("refuses a block that is never closed, naming the line it opens on", async () => {
    const error = await thrown(() => readScriptMetadata('import os\n# /// script\n# dependencies = ["rich"]\n\nprint(1)\n', "tool.py"));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.message).toBe("Cannot read the inline script metadata of tool.py: the `# /// script` block opened on line 2 is not closed");
    expect(error.value).toBe("tool.py:2");
  });

  it("refuses a block whose closing line is missing at the end of the file", async () => {
    const error = await thrown(() => readScriptMetadata('# /// script\n# dependencies = ["rich"]', "end.py"));
    expect(error.message).toContain("opened on line 1 is not closed");
  });

  it("refuses two script blocks, naming both lines", async () => {
    const two = '# /// script\n# dependencies = ["a"]\n# ///\n\nx = 1\n\n# /// script\n# dependencies = ["b"]\n# ///\n';
    const error = await thrown(() => readScriptMetadata(two, "two.py"));
    expect(error.message).toBe("Cannot read the inline script metadata of two.py: it has 2 `# /// script` blocks (lines 1 and 7); PEP 723 allows one");
  });

  it("ignores blocks of other types, and finds the script block beside them", () => {
    const text = '# /// pyproject\n# [project]\n# name = "x"\n# ///\n\n# /// script\n# dependencies = ["rich"]\n# ///\n';
    expect(findBlocks(text).map((b) => [b.type, b.startLine, b.endLine])).toEqual([
      ["pyproject", 1, 4],
      ["script", 6, 8],
    ]);
    expect(readScriptMetadata(text, "x.py")!.dependencies).toEqual(["rich"]);
    expect(readScriptMetadata("# /// other-tool\n# anything = 1\n# ///\n", "x.py")).toBeUndefined();
  });

  it("does not treat an indented `# /// script` (not at column 0) as a block, nor as an unclosed one", () => {
    const text = 'def f():\n    # /// script\n    # dependencies = ["rich"]\n    # ///\n    pass\n';
    expect(findBlocks(text)).toEqual([]);
    expect(readScriptMetadata(text, "x.py")).toBeUndefined();
  });

  it("does not take an opening line with trailing text for a block", () => {
    expect(readScriptMetadata('# /// script  \n# dependencies = ["rich"]\n# ///\n', "x.py")).toBeUndefined();
  });

  it("ends the block at the last `# ///` of the comment run, as the greedy reference regex does", () => {
    const text = '# /// script\n# dependencies = ["rich"]\n# description = """\n# ///\n# """\n# ///\n';
    const block = findBlocks(text)[0]!;
    expect(block.endLine).toBe(6);
    expect(readScriptMetadata(text, "x.py")!.dependencies).toEqual(["rich"]);
  });

  it("strips `# ` or `#` from each content line, keeping blank comment lines (checked against Python's re)", () => {
    expect(findBlocks("# /// script\n#\n# a = 1\n#  b = 2\n# ///\n")[0]!.content).toBe("\na = 1\n b = 2\n");
    expect(findBlocks('# /// script\n# dependencies = ["rich"]\n# ///')[0]!.content).toBe('dependencies = ["rich"]\n');
  });

  it("refuses a content line that is neither `#` nor `# ...` (the regex does not match, so the block is not closed)", async () => {
    expect(findBlocks("# /// script\n#\n# a = 1\n#b = 2\n# ///\n")).toEqual([]);
    const error = await thrown(() => readScriptMetadata("# /// script\n#\n# a = 1\n#b = 2\n# ///\n", "x.py"));
    expect(error.message).toContain("opened on line 1 is not closed");
    expect(error.hint).toContain("every line in between is `#` alone or starts with `# `");
  });

  it("ends a block at a line that is not a comment: the closing line must follow comment lines only", async () => {
    const error = await thrown(() => readScriptMetadata('# /// script\n# dependencies = ["a"]\nx = 1\n# ///\n', "gap.py"));
    expect(error.message).toContain("opened on line 1 is not closed");
  });

  it("names the script line of a TOML error inside the block", async () => {
    const error = await thrown(() => readScriptMetadata('import x\n# /// script\n# dependencies = [\n# "a",\n# requires-python = \n# ///\n', "bad.py"));
    expect(error.code).toBe("INVALID_SPEC");
    expect(error.message).toMatch(/^Cannot read the inline script metadata of bad\.py: invalid TOML on line \d+/);
    expect(Number(/line (\d+)/.exec(error.message)![1])).toBeGreaterThanOrEqual(3);
  });

  it("reports every bad field with its value", async () => {
    const error = await thrown(() => readScriptMetadata('# /// script\n# dependencies = ["ok", "numpy>>1"]\n# requires-python = "3.11+"\n# ///\n', "f.py"));
    expect(error.message).toContain('dependencies[1] = "numpy>>1"');
    expect(error.message).toContain('requires-python = "3.11+"');
  });
});
