// Renders /openapi.json: operations by tag, parameters, bodies, replies, schemas, and a
// "Try it" form. Plain DOM, no framework, nothing fetched but this server's own URLs.
"use strict";

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
};
const pretty = (value) => el("pre", {}, JSON.stringify(value, null, 2));
const refName = (schema) => schema && schema.$ref ? schema.$ref.split("/").pop() : null;
const schemaLink = (schema) => {
  const name = refName(schema);
  return name ? el("a", { href: "#schema-" + name }, name) : pretty(schema);
};

function tokenInput() {
  const input = document.getElementById("token");
  input.value = sessionStorage.getItem("nmt-token") || "";
  input.addEventListener("input", () => sessionStorage.setItem("nmt-token", input.value));
  return input;
}

function tryIt(path, method, op) {
  const box = el("div", { class: "try" }, el("b", {}, "Try it"));
  const inputs = {};
  for (const p of op.parameters || []) {
    const input = el("input", { placeholder: p.name });
    inputs[p.name] = [p, input];
    box.append(el("div", {}, el("label", {}, p.name + (p.required ? " (required) " : " "), input)));
  }
  let body = null;
  const media = op.requestBody && op.requestBody.content["application/json"];
  if (media) {
    body = el("textarea", {}, JSON.stringify(media.example || {}, null, 2));
    box.append(body);
  }
  const result = el("div");
  const send = el("button", { type: "button" }, "Send");
  send.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const [name, [p, input]] of Object.entries(inputs)) {
      if (!input.value) continue;
      if (p.in === "path") url = url.replace("{" + name + "}", encodeURIComponent(input.value));
      else query.set(name, input.value);
    }
    if ([...query].length) url += "?" + query;
    const headers = {};
    const token = document.getElementById("token").value;
    if (token) headers.authorization = "Bearer " + token;
    if (body) headers["content-type"] = "application/json";
    result.replaceChildren(el("p", {}, "…"));
    try {
      const reply = await fetch(url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
      const text = await reply.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      result.replaceChildren(
        el("p", { class: "status " + (reply.ok ? "ok" : "bad") }, reply.status + " " + reply.statusText),
        el("pre", {}, shown),
      );
    } catch (error) {
      result.replaceChildren(el("p", { class: "status bad" }, String(error)));
    }
  });
  box.append(el("div", {}, send), result);
  return box;
}

function operation(path, method, op) {
  const secured = (op.security || []).length > 0;
  const summary = el("summary", {},
    el("span", { class: "method " + method }, method.toUpperCase()), " ",
    el("code", {}, path), " ", op.summary,
    secured ? el("span", { class: "lock" }, "needs a bearer token") : null);
  const body = el("div");
  if (op.description) body.append(el("p", {}, op.description));
  if (op.parameters) {
    const rows = op.parameters.map((p) => el("tr", {},
      el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), el("td", {}, p.required ? "required" : "optional"),
      el("td", {}, p.description || JSON.stringify(p.schema))));
    body.append(el("h4", {}, "Parameters"), el("table", {}, ...rows));
  }
  const media = op.requestBody && op.requestBody.content["application/json"];
  if (media) body.append(el("h4", {}, "Body (application/json)"), schemaLink(media.schema));
  const replies = Object.entries(op.responses).map(([status, reply]) => {
    const content = reply.content || {};
    const [type, value] = Object.entries(content)[0] || ["", {}];
    return el("tr", {}, el("td", {}, status), el("td", {}, reply.description),
      el("td", {}, type), el("td", {}, value.schema ? schemaLink(value.schema) : ""));
  });
  body.append(el("h4", {}, "Replies"), el("table", {}, ...replies));
  if (!path.startsWith("/docs")) body.append(tryIt(path, method, op));
  return el("details", { class: "op", id: (op.operationId || "") }, summary, body);
}

async function main() {
  tokenInput();
  const doc = await (await fetch("/openapi.json")).json();
  document.getElementById("title").textContent = doc.info.title + " API";
  document.getElementById("description").textContent = doc.info.description;
  document.getElementById("version").textContent = "version " + doc.info.version;
  const byTag = {};
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags || ["other"])[0];
      (byTag[tag] = byTag[tag] || []).push(operation(path, method, op));
    }
  }
  const main = document.getElementById("operations");
  const toc = document.getElementById("toc");
  main.replaceChildren();
  for (const [tag, ops] of Object.entries(byTag)) {
    main.append(el("h2", { id: "tag-" + tag }, tag), ...ops);
    toc.append(el("a", { href: "#tag-" + tag }, tag));
  }
  toc.append(el("a", { href: "#schemas" }, "schemas"));
  const schemas = document.getElementById("schemas");
  schemas.append(el("h2", {}, "Schemas"));
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.append(el("details", { id: "schema-" + name },
      el("summary", {}, el("code", {}, name), " ", schema.description || schema.title || ""), pretty(schema)));
  }
  if (location.hash) document.querySelector(location.hash)?.scrollIntoView();
}

main().catch((error) => {
  document.getElementById("operations").replaceChildren(el("p", {}, "Could not load /openapi.json: " + error));
});
