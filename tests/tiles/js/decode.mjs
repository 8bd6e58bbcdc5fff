// Decode an MVT file with @mapbox/vector-tile and print its layers as JSON:
// {name: {version, extent, features: [{id, type, properties, rings: [[[x, y], ...], ...]}]}}.
// Usage: node decode.mjs tile.mvt
import {readFileSync} from 'node:fs';
import {VectorTile} from '@mapbox/vector-tile';
import {PbfReader} from 'pbf';

const tile = new VectorTile(new PbfReader(readFileSync(process.argv[2])));
const layers = {};
for (const [name, layer] of Object.entries(tile.layers)) {
    const features = [];
    for (let i = 0; i < layer.length; i++) {
        const feature = layer.feature(i);
        features.push({
            id: feature.id ?? null,
            type: feature.type,
            properties: feature.properties,
            rings: feature.loadGeometry().map((ring) => ring.map((point) => [point.x, point.y])),
        });
    }
    layers[name] = {version: layer.version, extent: layer.extent, features};
}
process.stdout.write(JSON.stringify(layers));
