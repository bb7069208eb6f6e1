// test:unit runs without Temporal: the helpers that would start or reach one refuse to.
process.env.FERRY_UNIT = '1';
