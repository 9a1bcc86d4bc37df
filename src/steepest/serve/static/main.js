// Which page this is: / and /runs/<id> show the runs, /playground the race, /network the
// live network. Each is one load of the same page; links between them are plain links.
"use strict";

(function (S) {
  function start() {
    const path = window.location.pathname;
    const runMatch = path.match(/^\/runs\/(\d+)\/?$/);
    let view = "runs";
    if (path.startsWith("/playground")) view = "race";
    else if (path.startsWith("/network")) view = "network";
    S.showView(view);
    const init = { runs: S.initRuns, race: S.initRace, network: S.initNetwork }[view];
    init(runMatch ? Number(runMatch[1]) : null).catch((error) => {
      S.status(`error: ${error.message}`);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.steepest);
