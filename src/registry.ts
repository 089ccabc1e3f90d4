/**
 * Components (sources, stages, stores, notifiers) register a typed factory by
 * name; configuration picks them by that name. Adding a component is adding a
 * folder that calls `register` and one import line in components.ts.
 */
export class Registry<Factory> {
  private readonly factories = new Map<string, Factory>();
  readonly kind: string;
  constructor(kind: string) {
    this.kind = kind;
  }

  register(name: string, factory: Factory): void {
    if (this.factories.has(name)) throw new Error(`${this.kind} "${name}" is registered twice`);
    this.factories.set(name, factory);
  }

  get(name: string): Factory {
    const factory = this.factories.get(name);
    if (!factory) {
      throw new Error(`unknown ${this.kind} "${name}" (known: ${[...this.factories.keys()].sort().join(', ') || 'none'})`);
    }
    return factory;
  }

  names(): string[] {
    return [...this.factories.keys()].sort();
  }
}
