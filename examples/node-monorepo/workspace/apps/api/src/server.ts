import { createServer } from "node:http";
import { answer } from "@acme/shared";
// A package from the private registry: installing it needs the token in .npmrc.
import greet = require("@imagespec-test/private-greeting");

const started = Date.now();
const port = Number(process.env.PORT ?? 3000);

createServer((_request, response) => {
  response.setHeader("content-type", "text/plain");
  response.end(`${answer("api", Date.now() - started)}; ${greet("api user")}\n`);
}).listen(port, process.env.HOST ?? "0.0.0.0", () => console.log(`api listening on ${port}`));
