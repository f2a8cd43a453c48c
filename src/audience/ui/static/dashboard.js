// Draws the Plotly figures a page embeds as JSON, and runs the live feed. No inline scripts.
"use strict";

function drawCharts() {
  if (typeof Plotly === "undefined") return;  // plotly not installed: tables only
  document.querySelectorAll("div.chart[data-figure]").forEach((div) => {
    const source = document.getElementById(div.dataset.figure);
    if (!source) return;
    const figure = JSON.parse(source.textContent);
    Plotly.newPlot(div, figure.data, figure.layout, { displaylogo: false, responsive: true });
  });
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "–" : String(text);
  return td;
}

function liveFeed() {
  const table = document.getElementById("live-feed");
  if (!table) return;
  const status = document.getElementById("live-status");
  const body = table.querySelector("tbody");
  const source = new EventSource(table.dataset.stream);
  source.onopen = () => { status.dataset.state = "open"; status.textContent = "●"; };
  source.onerror = () => { status.dataset.state = "reconnecting"; status.textContent = "…"; };
  source.onmessage = (message) => {
    const item = JSON.parse(message.data);
    const row = document.createElement("tr");
    row.dataset.messageId = item.message_id || "";
    row.append(cell(item.timestamp), cell(item.type), cell(item.event),
               cell(item.user_id || item.anonymous_id));
    body.prepend(row);
    while (body.rows.length > 200) body.deleteRow(-1);  // the page stays bounded too
  };
  window.addEventListener("pagehide", () => source.close());
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  liveFeed();
});
