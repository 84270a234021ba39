// os-utils ships no types; these are the calls this project makes.
declare module 'os-utils' {
  const osUtils: {
    cpuUsage(callback: (busyFraction: number) => void): void;
    loadavg(minutes: 1 | 5 | 15): number;
    freemem(): number;
  };
  export default osUtils;
}
