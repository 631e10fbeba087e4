/** PEP 440 versions and specifier sets, and poetry's constraint syntax. */
import { describe, expect, it } from "vitest";
import {
  compareVersions,
  normalizeSpecifierSet,
  parseSpecifierSet,
  parseVersion,
  poetryConstraint,
  pythonFits,
  pythonFitsPoetry,
  satisfies,
  type Specifier,
} from "../src/pep440.js";

const v = (text: string) => parseVersion(text)!;
const set = (text: string) => parseSpecifierSet(text) as Specifier[];

describe("versions", () => {
  it("orders versions as PEP 440 does", () => {
    const ordered = ["1.0.dev1", "1.0a1", "1.0a2.dev1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.0+local.1", "1.0.post1.dev1", "1.0.post1", "1.1", "1!0.1"];
    for (let i = 0; i < ordered.length - 1; i++) expect(compareVersions(v(ordered[i]!), v(ordered[i + 1]!)), `${ordered[i]} < ${ordered[i + 1]}`).toBe(-1);
    expect(compareVersions(v("1.0"), v("1.0.0"))).toBe(0);
    expect(compareVersions(v("1.0-alpha-1"), v("1.0a1"))).toBe(0);
  });

  it("refuses what is not a version", () => {
    expect(parseVersion("3.x")).toBeUndefined();
    expect(parseVersion("")).toBeUndefined();
  });
});

describe("specifier sets", () => {
  it("checks every operator", () => {
    expect(satisfies(v("3.11.4"), set(">=3.10,<3.12"))).toBe(true);
    expect(satisfies(v("3.12.0"), set(">=3.10,<3.12"))).toBe(false);
    expect(satisfies(v("3.11.9"), set("~=3.11.2"))).toBe(true);
    expect(satisfies(v("3.12.0"), set("~=3.11.2"))).toBe(false);
    expect(satisfies(v("3.13.0"), set("~=3.11"))).toBe(true);
    expect(satisfies(v("4.0"), set("~=3.11"))).toBe(false);
    expect(satisfies(v("3.11.7"), set("==3.11.*"))).toBe(true);
    expect(satisfies(v("3.12"), set("==3.11.*"))).toBe(false);
    expect(satisfies(v("3.10.1"), set("!=3.10.*"))).toBe(false);
    expect(satisfies(v("3.11"), set("==3.11.0"))).toBe(true);
    expect(satisfies(v("3.11.0+local"), set("==3.11.0"))).toBe(true);
    expect(satisfies(v("3.11.0"), set("===3.11.0"))).toBe(true);
    expect(satisfies(v("3.11"), set("===3.11.0"))).toBe(false);
    expect(satisfies(v("3.12.1"), set(">3.12"))).toBe(true);
    expect(satisfies(v("3.12.post1"), set(">3.12"))).toBe(false);
    expect(satisfies(v("3.12.0rc1"), set("<3.12"))).toBe(false);
    expect(satisfies(v("3.11.9"), set("<3.12"))).toBe(true);
    expect(satisfies(v("3.9"), set(""))).toBe(true);
  });

  it("says what is wrong with a bad specifier", () => {
    expect(parseSpecifierSet("3.11+")).toBe('"3.11+" is not a version specifier (an operator ==, !=, <=, >=, <, >, ~= or === and a version)');
    expect(parseSpecifierSet(">=3.x")).toBe('"3.x" in ">=3.x" is not a PEP 440 version');
    expect(parseSpecifierSet("~=3")).toMatch(/at least two parts/);
    expect(parseSpecifierSet(">=3.*")).toMatch(/only == and != take a .\* wildcard/);
  });

  it("normalizes order, spacing and version spelling", () => {
    expect(normalizeSpecifierSet("<3, >=2.31.0")).toBe(normalizeSpecifierSet(">=2.31.0,<3"));
    expect(normalizeSpecifierSet(">= 1.0a1")).toBe(">=1a1");
    expect(normalizeSpecifierSet("~=2.0.0")).toBe("~=2.0.0");
    expect(normalizeSpecifierSet("==2.0.*")).toBe("==2.0.*");
    expect(normalizeSpecifierSet(">=1.0-alpha-1")).toBe(">=1a1");
  });
});

describe("pythonFits", () => {
  it("lets a minor version fit when one of its releases does", () => {
    expect(pythonFits("3.11", set(">=3.11.2"))).toBe(true);
    expect(pythonFits("3.11", set(">=3.12"))).toBe(false);
    expect(pythonFits("3.11", set("<3.11"))).toBe(false);
    expect(pythonFits("3.11", set("==3.11.*"))).toBe(true);
    expect(pythonFits("3.11.1", set(">=3.11.2"))).toBe(false);
  });
});

describe("poetry constraints", () => {
  const fits = (python: string, constraint: string) => pythonFitsPoetry(python, poetryConstraint(constraint) as Specifier[][]);
  it("reads ^, ~, ranges, wildcards, unions and *", () => {
    expect(fits("3.11", "^3.10")).toBe(true);
    expect(fits("4.0", "^3.10")).toBe(false);
    expect(fits("3.9", "^3.10")).toBe(false);
    expect(fits("3.11", "~3.10")).toBe(false);
    expect(fits("3.10", "~3.10")).toBe(true);
    expect(fits("3.12", ">=3.8,<3.12")).toBe(false);
    expect(fits("3.11", ">= 3.8, < 3.12")).toBe(true);
    expect(fits("3.11", ">=3.8 <3.12")).toBe(true);
    expect(fits("3.11", "3.11.*")).toBe(true);
    expect(fits("3.12", "~3.8 || ^3.12")).toBe(true);
    expect(fits("3.10", "~3.8 || ^3.12")).toBe(false);
    expect(fits("3.13", "*")).toBe(true);
    expect(poetryConstraint("^0.2.3")).toEqual([
      [
        { operator: ">=", version: "0.2.3" },
        { operator: "<", version: "0.3" },
      ],
    ]);
    expect(poetryConstraint("^bad")).toBe('"^bad" is not a poetry version constraint');
  });
});
