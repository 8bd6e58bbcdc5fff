/*
 * hotspots EST map: overlays (vector tiles or inline GeoJSON), filters, week slider, legend.
 *
 * maps/page.py writes one `HotspotsMap.overlay(map, spec)` per layer and one
 * `HotspotsMap.controls(map, config)`; palettes and labels come from the config.
 * No inline event handlers: everything is bound here (the page runs under a CSP with a nonce).
 * `window.hotspotsMap` exposes the drawn features for the browser tests and for debugging.
 */
(function () {
  "use strict";

  var state = { config: null, map: null, overlays: {}, specs: {}, loading: {}, loaded: {}, palette: null, text: null, week: null };
  var PANES = { areas: 410, heat: 415, cells: 420, emerging: 425, hotspots: 430, measures: 435 };

  function paletteColour(entries, value) {
    for (var i = 0; i < entries.length; i++) {
      if (entries[i].value === value) { return entries[i].colour; }
    }
    return null;
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
        stroke: true, fill: false, color: partnership ? "#4a1486" : "#555555",
        weight: partnership ? 3 : 1, opacity: partnership ? 0.9 : 0.6, dashArray: partnership ? null : "4 3"
      };
    }
    var colour = null;
    var fillOpacity = 0.75;
    if (name === "hotspots") { colour = paletteColour(palette.gi_bin, p.gi_bin); }
    if (name === "emerging") { colour = paletteColour(palette.emerging, p.category); }
    if (name === "cells") { colour = stepColour(palette.count, p.count); fillOpacity = 0.65; }
    if (name === "heat") { colour = stepColour(palette.heat, p.level); fillOpacity = 0.55; }
    if (name === "measures") { colour = "#238b45"; }
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

  /* Popup of a hexagon, built as DOM nodes (no HTML from data). */
  function popupContent(name, p) {
    var text = state.text;
    var box = element("div", "hs-popup");
    var heading = text[name];
    if (name === "hotspots") {
      var entry = state.palette.gi_bin.filter(function (e) { return e.value === p.gi_bin; })[0];
      heading = entry ? entry.label : heading;
    }
    if (name === "emerging") {
      var pattern = state.palette.emerging.filter(function (e) { return e.value === p.category; })[0];
      heading = pattern ? pattern.label : heading;
    }
    box.appendChild(element("strong", null, heading));
    var rows = [
      ["reports", p.count], ["cells_in", p.cells], ["hot_cells", p.cells > 1 ? p.hot_cells : undefined],
      ["z", p.z], ["measures", p.measures]
    ];
    if (state.week && state.specs[name] && state.specs[name].weekly) {
      rows.unshift(["week", state.week]);
    }
    var list = element("dl");
    rows.forEach(function (row) {
      if (row[1] === undefined || row[1] === null) { return; }
      list.appendChild(element("dt", null, text[row[0]]));
      list.appendChild(element("dd", null, String(row[1])));
    });
    box.appendChild(list);
    return box;
  }

  function bindPopups(name, layer) {
    layer.on("click", function (event) {
      var properties = event.layer.properties || (event.layer.feature && event.layer.feature.properties) || {};
      L.popup().setLatLng(event.latlng).setContent(popupContent(name, properties)).openOn(state.map);
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
      L.marker([place.lat, place.lon], { icon: icon, title: place.label }).bindPopup(box).addTo(group);
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

  function filterPanel(config) {
    var text = config.text;
    var panel = element("div", "hs-panel leaflet-bar");
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
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);
    return panel;
  }

  function legendSection(title, entries) {
    var section = element("div", "hs-legend-section");
    section.appendChild(element("div", "hs-legend-title", title));
    entries.forEach(function (entry) {
      var row = element("div", "hs-legend-row");
      var swatch = element("span", "hs-swatch");
      swatch.style.background = entry.colour;
      row.appendChild(swatch);
      row.appendChild(element("span", null, entry.label));
      section.appendChild(row);
    });
    return section;
  }

  function legend(config) {
    var box = element("div", "hs-legend leaflet-bar");
    var sections = {
      hotspots: legendSection(config.text.legend_gi, config.palette.gi_bin),
      emerging: legendSection(config.text.emerging, config.palette.emerging),
      cells: legendSection(config.text.legend_count, config.palette.count),
      heat: legendSection(config.text.legend_heat, config.palette.heat)
    };
    Object.keys(sections).forEach(function (name) {
      var layer = state.overlays[name];
      if (!layer) { return; }
      box.appendChild(sections[name]);
      var refresh = function () { sections[name].hidden = !state.map.hasLayer(layer); };
      state.map.on("overlayadd overlayremove", refresh);
      refresh();
    });
    return box;
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
    control("topright", filterPanel(config)).addTo(map);
    control("bottomright", legend(config)).addTo(map);
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
