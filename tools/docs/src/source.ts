/**
 * Reads declarations and their TSDoc out of TypeScript sources with the compiler API, so the reference is written
 * from what the code says rather than from a copy of it.
 */

import ts from "typescript";

export interface Member {
  readonly name: string;
  /** `property`, `method`, `getter`; `static` is separate. */
  readonly kind: "property" | "method" | "getter";
  readonly isStatic: boolean;
  readonly optional: boolean;
  /** The declared type of a property or getter, or the whole signature of a method, on one line. */
  readonly signature: string;
  /** The TSDoc text, "" when there is none. */
  readonly doc: string;
  /** The declaration node, for callers that look inside (e.g. a method's body). */
  readonly node: ts.Node;
}

export class SourceSet {
  readonly #files = new Map<string, ts.SourceFile>();

  constructor(files: readonly string[]) {
    for (const file of files) {
      const text = ts.sys.readFile(file);
      if (text === undefined) throw new Error(`Cannot read ${file}`);
      this.#files.set(file, ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
    }
  }

  #file(file: string): ts.SourceFile {
    const source = this.#files.get(file);
    if (!source) throw new Error(`Cannot read ${file}: not one of the sources`);
    return source;
  }

  #find<T extends ts.Statement>(file: string, name: string, test: (node: ts.Node) => node is T): T {
    const source = this.#file(file);
    for (const statement of source.statements) {
      if (test(statement) && (statement as unknown as { name?: ts.Identifier }).name?.text === name) return statement;
    }
    throw new Error(`Cannot find ${name} in ${file}`);
  }

  /**
   * The TSDoc written above a declaration, as written: the raw comment rather than the checker's reading of it, which
   * would take `@imagespec/core` in a sentence for a JSDoc tag and cut the sentence there.
   */
  #doc(node: ts.Node): string {
    const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
    const last = docs.at(-1);
    if (!last) return "";
    const text = last
      .getText()
      .replace(/^\/\*\*|\*\/$/g, "")
      .replace(/^[ \t]*\* ?/gm, "");
    return oneParagraph(text);
  }

  /** The TSDoc of a top-level declaration (interface, class, function, type, const). */
  declarationDoc(file: string, name: string): string {
    const source = this.#file(file);
    for (const statement of source.statements) {
      if (ts.isVariableStatement(statement)) {
        const decl = statement.declarationList.declarations.find((d) => ts.isIdentifier(d.name) && d.name.text === name);
        if (decl) return this.#doc(decl);
      } else if ((statement as unknown as { name?: ts.Identifier }).name?.text === name) {
        return this.#doc(statement);
      }
    }
    throw new Error(`Cannot find ${name} in ${file}`);
  }

  /** The members of an interface, in declaration order. */
  interfaceMembers(file: string, name: string): Member[] {
    const decl = this.#find(file, name, ts.isInterfaceDeclaration);
    return decl.members.filter(ts.isPropertySignature).map((m) => ({
      name: m.name.getText(),
      kind: "property" as const,
      isStatic: false,
      optional: m.questionToken !== undefined,
      signature: m.type ? flat(m.type.getText()) : "unknown",
      doc: this.#doc(m),
      node: m,
    }));
  }

  /** The public members of a class, in declaration order: no `#private`, no `private`, no constructor. */
  classMembers(file: string, name: string): Member[] {
    const decl = this.#find(file, name, ts.isClassDeclaration);
    const members: Member[] = [];
    for (const m of decl.members) {
      if (!m.name || ts.isPrivateIdentifier(m.name)) continue;
      const modifiers = ts.canHaveModifiers(m) ? (ts.getModifiers(m) ?? []) : [];
      if (modifiers.some((mod) => mod.kind === ts.SyntaxKind.PrivateKeyword || mod.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
      const isStatic = modifiers.some((mod) => mod.kind === ts.SyntaxKind.StaticKeyword);
      const name = m.name.getText();
      if (ts.isMethodDeclaration(m)) {
        members.push({ name, kind: "method", isStatic, optional: false, signature: signatureOf(m), doc: this.#doc(m), node: m });
      } else if (ts.isGetAccessorDeclaration(m)) {
        members.push({ name, kind: "getter", isStatic, optional: false, signature: m.type ? flat(m.type.getText()) : "unknown", doc: this.#doc(m), node: m });
      } else if (ts.isPropertyDeclaration(m)) {
        members.push({
          name,
          kind: "property",
          isStatic,
          optional: m.questionToken !== undefined,
          signature: m.type ? flat(m.type.getText()) : "unknown",
          doc: this.#doc(m),
          node: m,
        });
      }
    }
    return members;
  }

  /** The members of a union of string literals (`type Code = "A" | "B"`) with the TSDoc written above each. */
  stringUnion(file: string, name: string): { value: string; doc: string }[] {
    const decl = this.#find(file, name, ts.isTypeAliasDeclaration);
    if (!ts.isUnionTypeNode(decl.type)) throw new Error(`${name} in ${file} is not a union type`);
    const source = this.#file(file);
    const members = decl.type.types;
    return members.map((member, i) => {
      if (!ts.isLiteralTypeNode(member) || !ts.isStringLiteral(member.literal)) throw new Error(`${name} in ${file} has a member that is not a string literal`);
      // The comment sits before the member's `|`: between the previous member (or the `=`) and this one.
      const between = source.text.slice(i === 0 ? decl.type.pos : members[i - 1]!.end, member.getStart());
      const doc = [...between.matchAll(/\/\*\*([\s\S]*?)\*\//g)].map((m) => m[1]!.replace(/^\s*\* ?/gm, "")).join(" ");
      return { value: member.literal.text, doc: oneParagraph(doc) };
    });
  }
}

/** A method's signature without its body, on one line: `withEnvVars(vars: Readonly<Record<string, string>>): Image`. */
function signatureOf(method: ts.MethodDeclaration): string {
  const text = method.getText();
  const start = method.name.getStart() - method.getStart();
  const end = method.body ? method.body.getStart() - method.getStart() : text.length;
  return flat(text.slice(start, end)).replace(/[\s;]+$/, "");
}

/** Collapses whitespace (and the trailing commas multi-line parameter lists leave) into one line. */
function flat(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .replace(/,\s*([)\]])/g, "$1")
    .replace(/([([])\s+/g, "$1")
    .replace(/\s+([)\]])/g, "$1")
    .trim();
}

function oneParagraph(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Every identifier in a node's subtree, for finding which layer definition a method appends. */
export function identifiersIn(node: ts.Node): string[] {
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isIdentifier(n)) out.push(n.text);
    ts.forEachChild(n, visit);
  };
  visit(node);
  return out;
}
