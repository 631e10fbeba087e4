/** Runs at most `n` tasks at once; the rest wait in arrival order (an O(1) queue: thousands may wait). */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  let head = 0;
  const next = () => {
    if (head < waiting.length) {
      const resume = waiting[head]!;
      waiting[head++] = undefined as never;
      if (head === waiting.length) {
        waiting.length = 0;
        head = 0;
      }
      resume();
    }
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      next();
    }
  };
}
