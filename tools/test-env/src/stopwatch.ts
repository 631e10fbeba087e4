/** Times named pieces of a slow test file and prints them once at the end (afterAll), so slow steps show in CI logs. */
export interface Stopwatch {
  timed<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Prints `<title> timings:` and one line per piece, if any was timed. */
  print(title: string): void;
}

export function stopwatch(): Stopwatch {
  const timings: [string, number][] = [];
  return {
    async timed(name, work) {
      const start = Date.now();
      try {
        return await work();
      } finally {
        timings.push([name, Date.now() - start]);
      }
    },
    print(title) {
      if (timings.length > 0) console.log(`${title} timings:\n${timings.map(([name, ms]) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}`).join("\n")}`);
    },
  };
}
