/**
 * English stop words and instruction words left out of key terms: they say
 * how to answer, not what about.
 */
const list = `a about above after again against all also am an and any are aren as at be because been before being below
between both but by can cannot could couldn did didn do does doesn doing don down during each either else etc ever
every few for from further get gets got had hadn has hasn have haven having he her here hers herself him himself his
how however i if in into is isn it its itself just let lets may me might more most much must mustn my myself no nor
not now of off on once one only or other otherwise ought our ours ourselves out over own per please quite rather
really same shall shan she should shouldn so some such than that the their theirs them themselves then there these
they this those though through thus to too under until up upon us very via was wasn we well were weren what when
where whether which while who whom whose why will with within without won would wouldn yes yet you your yours
yourself yourselves
answer answers ask asked briefly brief concise describe detail detailed details elaborate example examples explain
explanation give help know like list make mean means need please provide question say short show simple simply
something summarize summary tell thing things think want way ways write`

/** The stop words, lower case. */
export const stopWords: ReadonlySet<string> = new Set(list.split(/\s+/).filter((w) => w.length > 0))
