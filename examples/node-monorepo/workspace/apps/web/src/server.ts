import { createServer } from "node:http";
import { answer } from "@acme/shared";

const started = Date.now();
const port = Number(process.env.PORT ?? 3000);

createServer((_request, response) => {
  response.setHeader("content-type", "text/html");
  response.end(`<p>${answer("web", Date.now() - started)}</p>\n`);
}).listen(port, process.env.HOST ?? "0.0.0.0", () => console.log(`web listening on ${port}`));
