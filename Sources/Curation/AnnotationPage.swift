// AnnotationPage.swift — the comparison page `orpo curate serve` shows: the prompt and two candidates side by side,
// buttons and keys (1, 2, t, b, u, s), progress. Self-contained (inline style and script under a CSP nonce); model
// text is only ever set as textContent, so markup in a candidate shows as text.

enum AnnotationPage {
  static func html(nonce: String) -> String {
    """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>orpo curate</title>
    <link rel="icon" href="data:,">
    <style nonce="\(nonce)">
    body { font: 15px/1.45 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
    header { display: flex; gap: 1.5em; align-items: baseline; padding: .6em 1.2em; background: #1d2330; color: #fff; }
    header h1 { font-size: 1.1em; margin: 0; }
    main { padding: 1em 1.2em; max-width: 1400px; margin: 0 auto; }
    h2 { font-size: .8em; text-transform: uppercase; letter-spacing: .06em; color: #5a6275; margin: 0 0 .4em; }
    pre { white-space: pre-wrap; word-wrap: break-word; font: inherit; margin: 0; }
    .box { background: #fff; border: 1px solid #d8dbe2; border-radius: 6px; padding: .8em 1em; }
    #pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin: 1em 0; }
    @media (max-width: 800px) { #pair { grid-template-columns: 1fr; } }
    nav { display: flex; flex-wrap: wrap; gap: .5em; }
    button { font: inherit; padding: .45em .9em; border-radius: 5px; border: 1px solid #aab; background: #fff; cursor: pointer; }
    button.primary { background: #2f5bd3; color: #fff; border-color: #2f5bd3; }
    button:disabled { opacity: .5; cursor: default; }
    kbd { font-family: ui-monospace, monospace; background: #eef; border: 1px solid #ccd; border-radius: 3px; padding: 0 .3em; }
    button.primary kbd { background: rgba(255, 255, 255, .18); border-color: rgba(255, 255, 255, .55); color: #fff; }
    #status { min-height: 1.4em; color: #5a6275; }
    #status.error { color: #b3261e; }
    #login, #done { display: none; }
    body[data-state="login"] #login, body[data-state="done"] #done { display: block; }
    body[data-state="login"] #work, body[data-state="done"] #work { display: none; }
    </style>
    </head>
    <body data-state="loading">
    <header><h1>orpo curate</h1><span id="who"></span><span id="progress"></span></header>
    <main>
    <form id="login" class="box">
      <label>Your name <input id="name" autocomplete="username" pattern="[A-Za-z0-9._:@+-]{1,64}" required></label>
      <button class="primary" type="submit">Start</button>
    </form>
    <section id="done" class="box"><p>Nothing left for you to compare. Thank you!</p>
      <p><button id="undo-done" type="button"><kbd>u</kbd> Undo the last answer</button></p></section>
    <div id="work">
      <section class="box"><h2>Prompt</h2><pre id="prompt"></pre></section>
      <section id="pair">
        <article class="box"><h2>Response 1</h2><pre id="a"></pre></article>
        <article class="box"><h2>Response 2</h2><pre id="b"></pre></article>
      </section>
      <nav>
        <button class="primary" data-choice="a"><kbd>1</kbd> Response 1 is better</button>
        <button class="primary" data-choice="b"><kbd>2</kbd> Response 2 is better</button>
        <button data-choice="tie"><kbd>t</kbd> Tie</button>
        <button data-choice="both_bad"><kbd>b</kbd> Both bad</button>
        <button id="skip" type="button"><kbd>s</kbd> Skip</button>
        <button id="undo" type="button"><kbd>u</kbd> Undo last</button>
      </nav>
    </div>
    <p id="status" role="status"></p>
    </main>
    <script nonce="\(nonce)">
    "use strict";
    (function () {
      const $ = (id) => document.getElementById(id);
      const params = new URLSearchParams(location.search);
      // The token arrives once in the address; keep it for this tab only and take it out of the address bar.
      if (params.has("token")) {
        sessionStorage.setItem("orpo-token", params.get("token"));
        params.delete("token");
        const rest = params.toString();
        history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
      }
      const token = sessionStorage.getItem("orpo-token") || "";
      let annotator = params.get("annotator") || localStorage.getItem("orpo-annotator") || "";
      let current = null, busy = false;

      function setState(state) { document.body.dataset.state = state; }
      function status(text, isError) { $("status").textContent = text; $("status").className = isError ? "error" : ""; }

      async function api(method, path, body) {
        const init = { method, headers: { "Authorization": "Bearer " + token } };
        if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
        const response = await fetch(path, init);
        let data = null;
        if (response.status !== 204) { try { data = await response.json(); } catch (e) { data = null; } }
        if (!response.ok) { throw new Error((data && data.error) || ("HTTP " + response.status)); }
        return { status: response.status, data };
      }

      function show(pair) {
        current = pair;
        $("prompt").textContent = pair.prompt;
        $("a").textContent = pair.a;
        $("b").textContent = pair.b;
        $("pair").dataset.pairId = String(pair.pair_id);
        $("progress").textContent = pair.progress.annotated + " of " + pair.progress.total + " pairs answered";
        setState("ready");
      }

      async function next() {
        setState("loading");
        const r = await api("GET", "/api/next?annotator=" + encodeURIComponent(annotator));
        if (r.status === 204) { current = null; setState("done"); status(""); } else { show(r.data); }
      }

      async function act(work, message) {
        if (busy) return;
        busy = true;
        try { await work(); if (message) status(message); }
        catch (e) { status(e.message, true); if (current) setState("ready"); }
        finally { busy = false; }
      }

      function choose(choice) {
        if (!current || document.body.dataset.state !== "ready") return;
        const pair = current;
        act(async () => {
          setState("saving");
          await api("POST", "/api/annotations", { pair_id: pair.pair_id, annotator, choice });
          await next();
        }, "Saved pair " + pair.pair_id + ".");
      }

      function undo() {
        act(async () => {
          const r = await api("POST", "/api/undo", { annotator });
          if (r.status === 204) { status("Nothing to undo."); return; }
          show(r.data);
        }, "Undone: answer again.");
      }

      function skip() {
        if (!current) return;
        const pair = current;
        act(async () => { await api("POST", "/api/skip", { pair_id: pair.pair_id, annotator }); await next(); },
            "Skipped pair " + pair.pair_id + ".");
      }

      document.querySelectorAll("button[data-choice]").forEach((b) => b.addEventListener("click", () => choose(b.dataset.choice)));
      $("skip").addEventListener("click", skip);
      $("undo").addEventListener("click", undo);
      $("undo-done").addEventListener("click", undo);
      document.addEventListener("keydown", (event) => {
        if (event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "INPUT") return;
        const keys = { "1": "a", "2": "b", "t": "tie", "b": "both_bad" };
        if (keys[event.key]) { event.preventDefault(); choose(keys[event.key]); }
        else if (event.key === "u") { event.preventDefault(); undo(); }
        else if (event.key === "s") { event.preventDefault(); skip(); }
      });
      $("login").addEventListener("submit", (event) => {
        event.preventDefault();
        annotator = $("name").value.trim();
        localStorage.setItem("orpo-annotator", annotator);
        start();
      });

      async function start() {
        $("who").textContent = "annotator: " + annotator;
        act(next);
      }

      (async function () {
        try {
          const me = (await api("GET", "/api/whoami")).data;
          if (me.annotator) annotator = me.annotator;
        } catch (e) { status(e.message, true); return; }
        if (annotator) { start(); } else { setState("login"); $("name").focus(); }
      })();
    })();
    </script>
    </body>
    </html>
    """
  }
}
