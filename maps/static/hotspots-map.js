/*
 * hotspots EST map: overlays (vector tiles or inline GeoJSON), filters, week slider, legend.
 *
 * maps/page.py writes one `HotspotsMap.overlay(map, spec)` per layer and one
 * `HotspotsMap.controls(map, config)`; palettes and labels come from the config.
 * No inline event handlers: everything is bound here (the page runs under a CSP with a nonce).
 * `window.hotspotsMap` exposes the drawn features for the browser tests and for debugging.
 * One file of ~600 lines on purpose: overlays, popups, panels, legend and area names share one private
 * `state` inside this closure; split files would have to publish it as a global.
 */
(function () {
  "use strict";

  var state = {
    config: null, map: null, overlays: {}, specs: {}, loading: {}, loaded: {}, palette: null, text: null,
    week: null, legendNotes: [], panels: []
  };
  var PANES = { areas: 410, heat: 415, cells: 420, emerging: 425, hotspots: 430, measures: 435, labels: 450 };
  var SVG = "http://www.w3.org/2000/svg";
  /* Below this width (a phone) the filter panel and the legend start folded, and fold when a popup opens. */
  var NARROW = 700;
  /* Zoom from which the small areas (RegSO) are named too; the partnership areas always are. */
  var SMALL_AREA_LABEL_ZOOM = 14;

  function narrow() { return state.map.getSize().x < NARROW; }

  function formatNumber(value) {
    if (typeof value !== "number") { return String(value); }
    return value.toLocaleString(state.config.lang === "sv" ? "sv-SE" : "en-GB", { maximumFractionDigits: 2 });
  }

  function svgNode(tag, attributes) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  function patternId(value) { return "hs-pattern-" + value; }

  /* One hidden <svg> of fill patterns (hatch, dots, cross) that hexagons and legend swatches refer to. */
  function definePatterns(entries) {
    var holder = svgNode("svg", { width: "0", height: "0", "aria-hidden": "true", "class": "hs-defs" });
    var defs = svgNode("defs", {});
    entries.forEach(function (entry) {
      if (!entry.pattern || entry.pattern === "solid") { return; }
      var pattern = svgNode("pattern", {
        id: patternId(entry.value), width: "8", height: "8", patternUnits: "userSpaceOnUse"
      });
      pattern.appendChild(svgNode("rect", { width: "8", height: "8", fill: entry.colour }));
      var ink = { stroke: "#ffffff", "stroke-width": "1.6" };
      if (entry.pattern === "hatch" || entry.pattern === "cross") {
        pattern.appendChild(svgNode("path", Object.assign({ d: "M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" }, ink)));
      }
      if (entry.pattern === "cross") {
        pattern.appendChild(svgNode("path", Object.assign({ d: "M-2,6 l4,4 M0,0 l8,8 M6,-2 l4,4" }, ink)));
      }
      if (entry.pattern === "dots") {
        pattern.appendChild(svgNode("circle", { cx: "2", cy: "2", r: "1.4", fill: "#ffffff" }));
        pattern.appendChild(svgNode("circle", { cx: "6", cy: "6", r: "1.4", fill: "#ffffff" }));
      }
      defs.appendChild(pattern);
    });
    holder.appendChild(defs);
    document.body.appendChild(holder);
  }

  function fillOf(entry) {
    return entry.pattern && entry.pattern !== "solid" ? "url(#" + patternId(entry.value) + ")" : entry.colour;
  }

  function paletteEntry(entries, value) {
    for (var i = 0; i < entries.length; i++) {
      if (entries[i].value === value) { return entries[i]; }
    }
    return null;
  }

  function paletteColour(entries, value) {
    var entry = paletteEntry(entries, value);
    return entry ? fillOf(entry) : null;
  }

  function stepColour(entries, value) {
    var colour = null;
    for (var i = 0; i < entries.length; i++) {
      if (value >= entries[i].value) { colour = entries[i].colour; }
    }
    return colour;
  }

  /* Leaflet path style of a feature of layer `name`; [] hides it (VectorGrid skips empty style lists). */
  function style(name, p) {
    var palette = state.palette;
    if (name === "areas") {
      var partnership = p.kind === "partnership";
      return {
        stroke: true, fill: false, color: partnership ? "#111111" : "#555555",
        weight: partnership ? 3 : 1, opacity: partnership ? 0.9 : 0.6, dashArray: partnership ? null : "4 3"
      };
    }
    if (name === "measures") {
      return {
        fill: true, fillColor: palette.measures, fillOpacity: 0.15,
        stroke: true, color: palette.measures, weight: 2.5, opacity: 1, dashArray: "6 3"
      };
    }
    var colour = null;
    var fillOpacity = 0.75;
    if (name === "hotspots") { colour = paletteColour(palette.gi_bin, p.gi_bin); }
    if (name === "emerging") { colour = paletteColour(palette.emerging, p.category); }
    if (name === "cells") { colour = stepColour(palette.count, p.count); fillOpacity = 0.65; }
    if (name === "heat") { colour = stepColour(palette.heat, p.level); fillOpacity = 0.55; }
    if (!colour) { return []; }
    var outline = name !== "heat";
    return {
      fill: true, fillColor: colour, fillOpacity: fillOpacity,
      stroke: outline, color: "#ffffff", weight: outline ? 0.6 : 0, opacity: 0.9
    };
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function definitionList(rows) {
    var list = element("dl");
    rows.forEach(function (row) {
      if (row[1] === undefined || row[1] === null || row[1] === "") { return; }
      list.appendChild(element("dt", null, row[0]));
      list.appendChild(element("dd", null, formatNumber(row[1])));
    });
    return list;
  }

  /* A measure's popup part: type, organisation, dates, and the follow-up's WDQ with its reading. */
  function measureContent(id) {
    var text = state.text;
    var measure = (state.config.measures || {})[id];
    var part = element("div", "hs-measure");
    if (!measure) { return part; }
    part.appendChild(element("strong", null, measure.type));
    part.appendChild(definitionList([
      [text.organisation, measure.organisation],
      [text.dates, measure.start + " – " + (measure.end || text.ongoing)],
      [text.wdq, measure.wdq]
    ]));
    part.appendChild(element("p", "hs-reading",
      text.follow_up + ": " + (measure.reading || text.no_follow_up)));
    return part;
  }

  /* Popup of a hexagon, built as DOM nodes (no HTML from data). */
  function popupContent(name, p) {
    var text = state.text;
    var box = element("div", "hs-popup");
    if (name === "measures") {
      box.appendChild(element("div", "hs-popup-kind", text.measures));
      String(p.ids || "").split(",").filter(Boolean).forEach(function (id) {
        box.appendChild(measureContent(id));
      });
      return box;
    }
    var heading = text[name];
    var entry = null;
    if (name === "hotspots") { entry = paletteEntry(state.palette.gi_bin, p.gi_bin); }
    if (name === "emerging") { entry = paletteEntry(state.palette.emerging, p.category); }
    if (entry) {
      box.appendChild(element("div", "hs-popup-kind", text[name]));
      heading = entry.label;
    }
    box.appendChild(element("strong", null, heading));
    var rows = [
      [text.reports, p.count], [text.cells_in, p.cells], [text.hot_cells, p.cells > 1 ? p.hot_cells : undefined],
      [text.z, p.z]
    ];
    if (state.week && state.specs[name] && state.specs[name].weekly) {
      rows.unshift([text.week, state.week]);
    }
    box.appendChild(definitionList(rows));
    return box;
  }

  /* Room a popup keeps from the map's edges so that no control covers it: the width of the side
     controls and the height of the bottom ones, measured when it opens (panels fold on a phone). */
  function popupOptions() {
    var corners = state.map._controlCorners;
    var width = function (corner) { return corners[corner] ? corners[corner].offsetWidth : 0; };
    var height = function (corner) { return corners[corner] ? corners[corner].offsetHeight : 0; };
    return {
      maxWidth: 280,
      autoPanPaddingTopLeft: L.point(Math.max(width("topleft"), width("bottomleft")) + 12, 12),
      autoPanPaddingBottomRight: L.point(
        Math.max(width("topright"), width("bottomright")) + 12,
        Math.max(height("bottomright"), height("bottomleft")) + 12
      )
    };
  }

  /* `lift`: pixels the popup's tip stays above the point (a numbered marker's radius). */
  function openPopup(latlng, content, lift) {
    if (narrow()) { state.panels.forEach(function (panel) { panel.fold(true); }); }
    var box = element("div", "hs-popups");
    box.appendChild(content);
    var options = popupOptions();
    options.offset = L.point(0, 7 - (lift || 0));
    state.popup = { box: box, popup: L.popup(options).setLatLng(latlng).setContent(box) };
    state.popup.popup.openOn(state.map);
  }

  /* One popup per click: where several layers are hit at once (counts under hot spots), each adds its part. */
  function bindPopups(name, layer) {
    layer.on("click", function (event) {
      var properties = event.layer.properties || (event.layer.feature && event.layer.feature.properties) || {};
      var content = popupContent(name, properties);
      if (state.popup && state.popupClick === event.originalEvent && state.map.hasLayer(state.popup.popup)) {
        state.popup.box.appendChild(content);
        state.popup.popup.update();
        return;
      }
      state.popupClick = event.originalEvent;
      openPopup(event.latlng, content);
    });
  }

  function tileOverlay(map, spec) {
    var pane = "hs-" + spec.name;
    if (!map.getPane(pane)) {
      map.createPane(pane).style.zIndex = String(PANES[spec.name] || 420);
      if (!spec.interactive) { map.getPane(pane).style.pointerEvents = "none"; }
    }
    var styles = {};
    styles[spec.name] = function (properties) { return style(spec.name, properties); };
    var layer = L.vectorGrid.protobuf(spec.url, {
      pane: pane,
      rendererFactory: spec.interactive ? L.svg.tile : L.canvas.tile,
      interactive: spec.interactive,
      vectorTileLayerStyles: styles,
      getFeatureId: function (feature) { return feature.id; },
      maxNativeZoom: 18,
      fetchOptions: { credentials: "same-origin" }
    });
    layer.baseUrl = spec.url;
    state.loading[spec.name] = false;
    state.loaded[spec.name] = false;
    layer.on("loading", function () { state.loading[spec.name] = true; });
    layer.on("load", function () { state.loading[spec.name] = false; state.loaded[spec.name] = true; });
    if (spec.interactive) { bindPopups(spec.name, layer); }
    return layer;
  }

  function geojsonOverlay(map, spec) {
    var layer = L.geoJSON(spec.data, {
      style: function (feature) {
        var s = style(spec.name, feature.properties);
        return Array.isArray(s) ? { stroke: false, fill: false } : s;
      },
      interactive: spec.interactive
    });
    if (spec.interactive) { bindPopups(spec.name, layer); }
    return layer;
  }

  function markerOverlay(map, spec) {
    var group = L.featureGroup();
    spec.data.forEach(function (place) {
      var icon = L.divIcon({ className: "hs-priority", html: String(place.rank), iconSize: [26, 26] });
      var box = element("div", "hs-popup");
      box.appendChild(element("strong", null, place.rank + ". " + place.label));
      var list = element("ul");
      place.reasons.forEach(function (reason) { list.appendChild(element("li", null, reason)); });
      box.appendChild(list);
      var marker = L.marker([place.lat, place.lon], { icon: icon, title: place.label });
      marker.on("click", function () { openPopup(marker.getLatLng(), box, 13); });
      marker.addTo(group);
    });
    return group;
  }

  function overlay(map, spec) {
    state.map = map;
    state.specs[spec.name] = spec;
    var layer = spec.kind === "tiles" ? tileOverlay(map, spec)
      : spec.kind === "geojson" ? geojsonOverlay(map, spec) : markerOverlay(map, spec);
    state.overlays[spec.name] = layer;
    return layer;
  }

  function withWeek(url, week) {
    var parts = url.split("?");
    var params = new URLSearchParams(parts[1] || "");
    if (week) { params.set("week", week); } else { params.delete("week"); }
    var query = params.toString();
    return parts[0] + (query ? "?" + query : "");
  }

  function setWeek(week) {
    state.week = week;
    state.legendNotes.forEach(function (note) { note.hidden = !week; });
    Object.keys(state.overlays).forEach(function (name) {
      var spec = state.specs[name];
      if (spec.kind === "tiles" && spec.weekly) {
        state.overlays[name].setUrl(withWeek(spec.url, week));
      }
    });
  }

  function navigate(key, value) {
    var params = new URLSearchParams(window.location.search);
    params.delete(key);
    if (value) { params.set(key, value); }
    window.location.search = params.toString();
  }

  function select(label, name, options, selected) {
    var wrap = element("label", "hs-field");
    wrap.appendChild(element("span", null, label));
    var box = element("select");
    box.name = name;
    options.forEach(function (option) {
      var node = element("option", null, option.label);
      node.value = option.id;
      node.selected = option.id === selected;
      box.appendChild(node);
    });
    box.addEventListener("change", function () { navigate(name, box.value); });
    wrap.appendChild(box);
    return wrap;
  }

  /* A panel whose body folds under a button (44 px high, a thumb's width): folded at start on a phone. */
  function foldable(className, label, body) {
    var panel = element("div", className + " hs-foldable leaflet-bar");
    var button = element("button", "hs-fold", label);
    button.type = "button";
    var fold = function (folded) {
      body.hidden = folded;
      button.setAttribute("aria-expanded", String(!folded));
      panel.classList.toggle("hs-folded", folded);
      if (state.onFold) { state.onFold(); }
    };
    button.addEventListener("click", function () { fold(!body.hidden); });
    panel.appendChild(button);
    panel.appendChild(body);
    state.panels.push({ fold: fold });
    fold(narrow());
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);
    return panel;
  }

  function filterPanel(config) {
    var text = config.text;
    var panel = element("div", "hs-panel");
    panel.appendChild(element("div", "hs-title", text.title));
    panel.appendChild(element("div", "hs-subtitle", config.subtitle));
    if (config.filters) {
      panel.appendChild(select(text.window, "window", config.windows.map(function (w) {
        return { id: w, label: w.replace("d", " " + text.days) };
      }), config.window));
      panel.appendChild(select(text.category, "category",
        [{ id: "", label: text.all_categories }].concat(config.categories), config.category[0] || ""));
      panel.appendChild(select(text.source, "source",
        [{ id: "", label: text.all_sources }].concat(config.sources), config.source[0] || ""));
      var weeks = config.weeks;
      var field = element("label", "hs-field hs-week");
      var caption = element("span", null, text.week + ": " + text.whole_window);
      var slider = element("input");
      slider.type = "range";
      slider.name = "week";
      slider.min = "0";
      slider.max = String(weeks.length);
      slider.step = "1";
      slider.value = String(weeks.length);
      var chosen = function () { return Number(slider.value) < weeks.length ? weeks[Number(slider.value)] : null; };
      slider.addEventListener("input", function () {
        caption.textContent = text.week + ": " + (chosen() || text.whole_window);
      });
      slider.addEventListener("change", function () { setWeek(chosen()); });
      field.appendChild(caption);
      field.appendChild(slider);
      panel.appendChild(field);
    }
    var language = element("a", "hs-language", text.other_language);
    var params = new URLSearchParams(window.location.search);
    params.set("lang", config.lang === "sv" ? "en" : "sv");
    language.href = "?" + params.toString();
    panel.appendChild(language);
    return foldable("hs-filters", text.filters, panel);
  }

  function swatch(entry) {
    var node = svgNode("svg", { width: "16", height: "16", "class": "hs-swatch", "aria-hidden": "true" });
    node.appendChild(svgNode("rect", {
      x: "0.5", y: "0.5", width: "15", height: "15", fill: fillOf(entry), stroke: "#777777"
    }));
    return node;
  }

  function legendSection(title, entries, note) {
    var section = element("div", "hs-legend-section");
    section.appendChild(element("div", "hs-legend-title", title));
    entries.forEach(function (entry) {
      var row = element("div", "hs-legend-row");
      row.appendChild(swatch(entry));
      row.appendChild(element("span", null, entry.label));
      section.appendChild(row);
    });
    if (note) {
      var caption = element("p", "hs-legend-note", note);
      state.legendNotes.push(caption);
      caption.hidden = true;
      section.appendChild(caption);
    }
    return section;
  }

  /* One legend for every layer shown: a section per visible layer, scrolling inside the room the filters
     leave; when a week is chosen each section says whether its colours are the week's or the window's. */
  function legend(config) {
    var text = config.text;
    var body = element("div", "hs-legend");
    var measure = { value: "measure", colour: config.palette.measures };
    var sections = {
      hotspots: legendSection(text.legend_gi, config.palette.gi_bin, text.week_note),
      emerging: legendSection(text.emerging, config.palette.emerging, text.window_note),
      cells: legendSection(text.legend_count, config.palette.count),
      heat: legendSection(text.legend_heat, config.palette.heat, text.window_note),
      measures: legendSection(text.measures, [{ value: measure.value, colour: measure.colour, label: text.measures }])
    };
    Object.keys(sections).forEach(function (name) {
      var layer = state.overlays[name];
      if (!layer) { return; }
      body.appendChild(sections[name]);
      var refresh = function () { sections[name].hidden = !state.map.hasLayer(layer); fitLegend(); };
      state.map.on("overlayadd overlayremove", refresh);
      refresh();
    });
    state.legend = body;
    return foldable("hs-legend-panel", text.legend, body);
  }

  /* The legend's height: what the top-right stack (layers, filters) and the attribution leave free. */
  function fitLegend() {
    if (!state.legend || !state.map) { return; }
    var corners = state.map._controlCorners;
    var attribution = state.map.attributionControl ? state.map.attributionControl.getContainer().offsetHeight : 0;
    // the legend's own button (44 px) and four control margins of 10 px
    var used = corners.topright.offsetHeight + attribution + 44 + 40;
    state.legend.style.maxHeight = Math.max(80, state.map.getSize().y - used) + "px";
  }

  /* Where a name may go, tried in order: beside its area's outline (above, below, left, right: the
     hexagons and numbered markers sit inside), then on a point inside it. `anchor` is the label's corner
     at that point, as a CSS class. */
  var LABEL_PLACES = [
    { anchor: "above", at: function (b) { return [b[2], (b[1] + b[3]) / 2]; } },
    { anchor: "below", at: function (b) { return [b[0], (b[1] + b[3]) / 2]; } },
    { anchor: "left", at: function (b) { return [(b[0] + b[2]) / 2, b[1]]; } },
    { anchor: "right", at: function (b) { return [(b[0] + b[2]) / 2, b[3]]; } }
  ];
  var LABEL_OFFSETS = {
    above: [-0.5, -1], below: [-0.5, 0], left: [-1, -0.5], right: [0, -0.5], centre: [-0.5, -0.5]
  };

  function overlaps(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }

  /* The screen box of an area's outline (bounds are [south, west, north, east]). */
  function outlineBox(map, b) {
    var sw = map.latLngToContainerPoint([b[0], b[1]]);
    var ne = map.latLngToContainerPoint([b[2], b[3]]);
    return { x: sw.x, y: ne.y, w: ne.x - sw.x, h: sw.y - ne.y };
  }

  /* Place every shown name where it covers no numbered marker and no other name (a small repel loop
     over label boxes); a small area's name that finds no free place is left out at that zoom. A name
     beside its outline keeps off the other partnership areas' outlines where there is room: "Vivalla"
     below Vivalla read as the name of Baronbackarna next door. */
  function placeLabels(map, labels) {
    var taken = [];
    var origin = map.getContainer().getBoundingClientRect();
    var size = map.getSize();
    var outlines = labels.filter(function (l) { return l.major; }).map(function (l) {
      return { label: l, box: outlineBox(map, l.area.bounds) };
    });
    var onScreen = function (box) { return box.x >= 0 && box.y >= 0 && box.x + box.w <= size.x && box.y + box.h <= size.y; };
    map.getContainer().querySelectorAll(".hs-priority, .leaflet-control").forEach(function (node) {
      var r = node.getBoundingClientRect();
      taken.push({ x: r.left - origin.left - 2, y: r.top - origin.top - 2, w: r.width + 4, h: r.height + 4 });
    });
    labels.forEach(function (label) {
      if (!label.group.hasLayer(label.marker) || !map.hasLayer(label.group)) { return; }
      var span = label.marker.getElement().firstChild;
      var w = span.offsetWidth, h = span.offsetHeight;
      var places = label.major ? LABEL_PLACES.concat([{ anchor: "centre", at: function () { return label.area.inside; } }])
        : [{ anchor: "centre", at: function () { return label.area.inside; } }];
      var chosen = null;
      // first clear of the neighbours' outlines too; where that finds no room, clear of markers and names
      for (var pass = 0; pass < 2 && !chosen; pass++) {
        for (var i = 0; i < places.length && !chosen; i++) {
          var latlng = places[i].at(label.area.bounds);
          var p = map.latLngToContainerPoint(latlng);
          var offset = LABEL_OFFSETS[places[i].anchor];
          var box = { x: p.x + offset[0] * w - 2, y: p.y + offset[1] * h - 2, w: w + 4, h: h + 4 };
          var beside = pass === 0 && places[i].anchor !== "centre";
          var onOther = beside && outlines.some(function (o) { return o.label !== label && overlaps(o.box, box); });
          if (onScreen(box) && !onOther && !taken.some(function (t) { return overlaps(t, box); })) { chosen = { place: places[i], latlng: latlng, box: box }; }
        }
      }
      if (!chosen && label.major) {
        var fallback = places[0];
        chosen = { place: fallback, latlng: fallback.at(label.area.bounds), box: null };
      }
      span.hidden = !chosen;
      if (!chosen) { return; }
      label.marker.setLatLng(chosen.latlng);
      span.className = "hs-at-" + chosen.place.anchor;
      if (chosen.box) { taken.push(chosen.box); }
    });
  }

  /* Permanent names of the areas, shown with the areas layer: partnership areas at every zoom, the small
     (RegSO) areas from SMALL_AREA_LABEL_ZOOM. Not clickable: they never catch a tap meant for a hexagon. */
  function areaLabels(map, areas) {
    if (!map.getPane("hs-labels")) {
      map.createPane("hs-labels").style.zIndex = String(PANES.labels);
      map.getPane("hs-labels").style.pointerEvents = "none";
    }
    var partnership = L.layerGroup();
    var small = L.layerGroup();
    var labels = [];
    areas.filter(function (a) { return a.kind === "partnership"; }).concat(
      areas.filter(function (a) { return a.kind !== "partnership"; })
    ).forEach(function (area) {
      var major = area.kind === "partnership";
      var icon = L.divIcon({
        className: "hs-area-label " + (major ? "hs-area-major" : "hs-area-minor"),
        html: element("span", "hs-at-centre", area.name), iconSize: null
      });
      var marker = L.marker(area.inside, { icon: icon, interactive: false, keyboard: false, pane: "hs-labels" });
      var group = major ? partnership : small;
      marker.addTo(group);
      labels.push({ area: area, marker: marker, group: group, major: major });
    });
    var areasLayer = state.overlays.areas;
    var refresh = function () {
      var shown = !areasLayer || map.hasLayer(areasLayer);
      var showSmall = shown && map.getZoom() >= SMALL_AREA_LABEL_ZOOM;
      if (shown) { partnership.addTo(map); } else { partnership.remove(); }
      if (showSmall) { small.addTo(map); } else { small.remove(); }
      placeLabels(map, labels);
    };
    map.on("overlayadd overlayremove moveend resize", refresh);
    state.placeLabels = refresh;
    refresh();
  }

  function control(position, content) {
    var C = L.Control.extend({ onAdd: function () { return content; } });
    return new C({ position: position });
  }

  /* Features drawn by an overlay (tiles repeat a hexagon cut by a tile edge: `unique` counts it once). */
  function features(name) {
    var layer = state.overlays[name];
    var out = [];
    if (!layer || !state.map.hasLayer(layer)) { return out; }
    if (layer._vectorTiles) {
      Object.keys(layer._vectorTiles).forEach(function (key) {
        var tile = layer._vectorTiles[key];
        Object.keys(tile._features || {}).forEach(function (id) {
          out.push({ id: id, properties: tile._features[id].feature.properties });
        });
      });
    } else if (layer.eachLayer) {
      layer.eachLayer(function (item) {
        out.push({ id: L.stamp(item), properties: (item.feature && item.feature.properties) || {} });
      });
    }
    return out;
  }

  function configure(config) {
    state.config = config;
    state.palette = config.palette;
    state.text = config.text;
  }

  function controls(map) {
    var config = state.config;
    state.map = map;
    definePatterns(config.palette.emerging);
    L.control.scale({ metric: true, imperial: false, position: "bottomleft" }).addTo(map);
    control("topright", filterPanel(config)).addTo(map);
    control("bottomright", legend(config)).addTo(map);
    if (config.areas && config.areas.length) { areaLabels(map, config.areas); }
    state.onFold = function () {
      fitLegend();
      if (state.placeLabels) { state.placeLabels(); }
    };
    map.on("resize overlayadd overlayremove", fitLegend);
    fitLegend();
    window.hotspotsMap = {
      map: map,
      overlays: state.overlays,
      features: features,
      drawn: function (name) { return features(name).length; },
      unique: function (name) {
        var seen = {};
        features(name).forEach(function (f) { seen[f.id] = f.properties; });
        return seen;
      },
      idle: function () {
        return Object.keys(state.overlays).every(function (name) {
          var layer = state.overlays[name];
          if (!layer._vectorTiles || !map.hasLayer(layer)) { return true; }
          return state.loaded[name] && !state.loading[name];
        });
      },
      setWeek: setWeek,
      week: function () { return state.week; }
    };
  }

  window.HotspotsMap = { configure: configure, overlay: overlay, controls: controls };
})();
