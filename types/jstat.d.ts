/** The part of jStat (no types of its own) that harness/metrics/welch.ts uses. */
declare module 'jstat' {
  const jStat: {
    studentt: {
      /** P(T ≤ x) for Student's t with `dof` degrees of freedom (any positive real). */
      cdf(x: number, dof: number): number;
    };
  };
  export default jStat;
}
