declare module "ms" {
  function ms(milliseconds: number): string;
  export = ms;
}
