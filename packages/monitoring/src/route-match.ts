// Which receivers Alertmanager notifies for an alert, on a routing tree monitoring renders: the
// tests (and the reference suite) check the generated routes with it. Pure.

/** A route of the rendered Alertmanager configuration, as far as the matcher reads it. */
export interface RouteNode {
  readonly receiver: string;
  readonly matchers?: readonly string[];
  readonly continue?: boolean;
  readonly routes?: readonly RouteNode[];
}

/**
 * The receivers Alertmanager notifies for an alert with `labels` on the routing tree `route`
 * (Alertmanager v0.34 dispatch/route.go `Match`: children in order, the first match wins unless
 * it has `continue`; a node whose children all miss is itself the match). Reads the `label = "v"`
 * and `label =~ "re"` matchers monitoring renders (a regex anchored, as Alertmanager anchors it).
 */
export function receiversFor(route: RouteNode, labels: Readonly<Record<string, string>>): string[] {
  const matchesAll = (node: RouteNode) =>
    (node.matchers ?? []).every((matcher) => {
      const [, label, op, value] = /^(\w+) (=~|=) "?(.*?)"?$/.exec(matcher) ?? [];
      const actual = labels[label as string] ?? '';
      return op === '=' ? actual === value : new RegExp(`^(?:${value})$`).test(actual);
    });
  const match = (node: RouteNode): string[] => {
    if (!matchesAll(node)) return [];
    const all: string[] = [];
    for (const child of node.routes ?? []) {
      const found = match(child);
      all.push(...found);
      if (found.length > 0 && child.continue !== true) break;
    }
    return all.length > 0 ? all : [node.receiver];
  };
  return match(route);
}
