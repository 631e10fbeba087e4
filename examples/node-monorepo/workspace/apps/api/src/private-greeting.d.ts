declare module "@imagespec-test/private-greeting" {
  function greet(name: string): string;
  export = greet;
}
