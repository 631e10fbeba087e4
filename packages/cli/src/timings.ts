/**
 * Where a command's time goes, for `--debug`: the milliseconds since the process started at each step, printed at
 * the end ("timings: start 45 ms, cli 60 ms, settings 180 ms, ..."). Marks cost a clock read; nothing is printed
 * without --debug.
 */

const marks: [string, number][] = [];

export function mark(step: string): void {
  marks.push([step, performance.now()]);
}

/** `step +delta` for every mark since the process started; undefined when nothing was marked. */
export function timings(): string | undefined {
  if (marks.length === 0) return undefined;
  let previous = 0;
  return marks
    .map(([step, at]) => {
      const text = `${step} +${Math.round(at - previous)} ms`;
      previous = at;
      return text;
    })
    .concat(`total ${Math.round(performance.now())} ms`)
    .join(", ");
}
