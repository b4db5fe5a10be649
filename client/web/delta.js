// Applying a delta to a view: the browser's twin of game/delta.py.
//
// A delta is a list of operations: [path, value] sets the value at path (a list of
// object keys and array indexes; the index one past an array's end appends) and
// [path] deletes an object key. The empty path replaces the whole view.
// applyDelta returns the new view and leaves its input alone, copying only the
// objects and arrays along the changed paths. Both sides pass tests/vectors/deltas.json.

function shallow(value) {
  if (Array.isArray(value)) return value.slice();
  if (value !== null && typeof value === "object") return { ...value };
  throw new TypeError(`cannot descend into ${value === null ? "null" : typeof value}`);
}

function checkKey(node, key) {
  if (Array.isArray(node)) {
    if (!Number.isInteger(key) || key < 0 || key > node.length) {
      throw new RangeError(`bad array index ${JSON.stringify(key)}`);
    }
  } else if (typeof key !== "string" || key === "__proto__") {
    throw new TypeError(`bad object key ${JSON.stringify(key)}`);
  }
}

function child(node, key) {
  checkKey(node, key);
  if (Array.isArray(node) ? key >= node.length : !Object.hasOwn(node, key)) {
    throw new RangeError(`no ${JSON.stringify(key)} to descend into`);
  }
  return node[key];
}

export function applyDelta(view, ops) {
  const copied = new Set();
  let root = view;
  for (const op of ops) {
    const path = op[0];
    if (path.length === 0) {
      root = op[1];
      copied.clear();
      continue;
    }
    if (!copied.has(root)) {
      root = shallow(root);
      copied.add(root);
    }
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      let next = child(node, path[i]);
      if (!copied.has(next)) {
        next = shallow(next);
        copied.add(next);
        node[path[i]] = next;
      }
      node = next;
    }
    const last = path[path.length - 1];
    checkKey(node, last);
    if (op.length === 1) {
      if (Array.isArray(node)) {
        if (last >= node.length) throw new RangeError(`no index ${last} to delete`);
        node.splice(last, 1);
      } else {
        if (!Object.hasOwn(node, last)) throw new RangeError(`no key ${JSON.stringify(last)}`);
        delete node[last];
      }
    } else if (Array.isArray(node) && last === node.length) {
      node.push(op[1]);
    } else {
      node[last] = op[1];
    }
  }
  return root;
}
