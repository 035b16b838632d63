/**
 * `npm run openapi`: writes the OpenAPI document (docs/openapi.json) and the typed client's types
 * (packages/client/src/schema.ts) from the code. `npm run postman`: the Postman collection
 * (docs/flashstock.postman_collection.json) from the document. Tests fail when a committed file
 * differs from what these write.
 */
import { readFile, writeFile } from "node:fs/promises";
import { buildDocument } from "./document.ts";
import { clientTypes, outputFiles, postmanCollection } from "./outputs.ts";

if (process.argv.includes("--postman")) {
  const document = JSON.parse(await readFile(outputFiles.document, "utf8"));
  const collection = await postmanCollection(document);
  await writeFile(outputFiles.postman, `${JSON.stringify(collection, null, 2)}\n`);
  console.log(`wrote ${outputFiles.postman}`);
} else {
  const document = await buildDocument();
  await writeFile(outputFiles.document, `${JSON.stringify(document, null, 2)}\n`);
  await writeFile(outputFiles.clientTypes, await clientTypes(document));
  console.log(`wrote ${outputFiles.document} and ${outputFiles.clientTypes}`);
}
