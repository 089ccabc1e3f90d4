/** A small line of counts over time (patterns, system). */
export function Sparkline({ values, width = 120, height = 24, label }: { values: number[]; width?: number; height?: number; label: string }) {
  if (values.length === 0) return <svg className="sparkline" width={width} height={height} role="img" aria-label={label} />;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
  return (
    <svg className="sparkline" width={width} height={height} role="img" aria-label={label}>
      <path d={`M0,${height} L${pts.join(' L')} L${width},${height} Z`} />
      <polyline points={pts.join(' ')} />
    </svg>
  );
}
