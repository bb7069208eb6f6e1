export const ceilingActivities = {
  touch(): Promise<void> {
    return Promise.resolve();
  },
};
export type CeilingActivities = typeof ceilingActivities;
