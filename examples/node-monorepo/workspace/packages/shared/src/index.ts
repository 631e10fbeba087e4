import ms = require("ms");

/** The answer every service gives: who answers, and for how long it has been up. */
export function answer(service: string, uptimeMs: number): string {
  return `${service} says hello (up ${ms(uptimeMs)})`;
}
