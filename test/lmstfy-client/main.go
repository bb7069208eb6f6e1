// Command lmstfyclienttest runs the unmodified lmstfy Go client (github.com/bitleak/lmstfy/client
// v1.0.15) against a Ferry API server and checks that every call returns what it returns against
// lmstfy. It prints one "ok" line per passed check and exits non-zero at the first mismatch.
//
// Environment: FERRY_HOST, FERRY_API_PORT, FERRY_NAMESPACE, FERRY_TOKEN.
package main

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/bitleak/lmstfy/client"
)

// expectedChecks is the number of checks main runs; the Jest test asserts the same number.
const expectedChecks = 75

var (
	cli    *client.LmstfyClient
	host   string
	port   int
	ns     string
	suffix = strconv.FormatInt(time.Now().UnixNano(), 36)
	passed int
)

func main() {
	host = mustEnv("FERRY_HOST")
	var err error
	port, err = strconv.Atoi(mustEnv("FERRY_API_PORT"))
	if err != nil {
		fail("FERRY_API_PORT is not a number: %v", err)
	}
	ns = mustEnv("FERRY_NAMESPACE")
	cli = client.NewLmstfyClient(host, port, ns, mustEnv("FERRY_TOKEN"))

	// A hung request must not hang the test run: the client's own HTTP timeout is 600 s.
	time.AfterFunc(90*time.Second, func() { fail("the checks did not finish within 90 s") })

	testPublishAndConsume()
	testBatchPublishAndConsume()
	testEmptyQueueAndLongPoll()
	testConsumeFromQueuesPriority()
	testAck()
	testSizeAndPeek()
	testDeadLetter()
	testRePublish()
	testWrongToken()

	if passed != expectedChecks {
		fail("ran %d checks, expected %d: update expectedChecks and the Jest test", passed, expectedChecks)
	}
	fmt.Printf("PASS %d checks\n", passed)
}

// check prints one "ok" line, or a FAIL line and exits 1.
func check(name string, cond bool, detail string) {
	if !cond {
		fail("%s: %s", name, detail)
	}
	passed++
	fmt.Printf("ok   %s\n", name)
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fail("environment variable %s is not set", name)
	}
	return v
}

// queue names a queue for one scenario, unique per run.
func queue(name string) string { return name + "-" + suffix }

// apiErr prints a *client.APIError; the client returns that concrete type from Ack, QueueSize,
// Peek* and *DeadLetter, so it must be compared with nil before it becomes an error interface.
func apiErr(e *client.APIError) string {
	if e == nil {
		return "<nil>"
	}
	return e.Error()
}

func describe(job *client.Job) string {
	if job == nil {
		return "<nil job>"
	}
	return fmt.Sprintf("{queue:%s id:%s data:%q ttl:%d remain_tries:%d attributes:%v}",
		job.Queue, job.ID, job.Data, job.TTL, job.RemainTries, job.Attributes)
}

func got(job *client.Job, err error) string {
	return fmt.Sprintf("job=%s err=%v", describe(job), err)
}

func mustPublish(q string, data string, ttl uint32, tries uint16) string {
	id, err := cli.Publish(q, []byte(data), ttl, tries, 0)
	if err != nil || id == "" {
		fail("Publish(%s) failed: id=%q err=%v", q, id, err)
	}
	return id
}

func mustConsume(q string, ttr uint32) *client.Job {
	job, err := cli.Consume(q, ttr, 0)
	if err != nil || job == nil {
		fail("Consume(%s) returned no job: %s", q, got(job, err))
	}
	return job
}

func mustAck(q, id string) {
	if e := cli.Ack(q, id); e != nil {
		fail("Ack(%s, %s) failed: %s", q, id, apiErr(e))
	}
}

// waitForDeadLetter polls PeekDeadLetter until the queue's dead letter holds exactly the job.
func waitForDeadLetter(q, id string) (int, string, *client.APIError) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		size, head, e := cli.PeekDeadLetter(q)
		if (e == nil && size == 1 && head == id) || time.Now().After(deadline) {
			return size, head, e
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testPublishAndConsume() {
	q := queue("basic")
	id, err := cli.Publish(q, []byte("hello ferry"), 60, 3, 0)
	check("Publish returns a job id", err == nil && id != "", fmt.Sprintf("id=%q err=%v", id, err))

	job, err := cli.Consume(q, 30, 0)
	check("Consume returns the published job", err == nil && job != nil && job.ID == id,
		fmt.Sprintf("want id %s, got %s", id, got(job, err)))
	check("Consume returns the published data", string(job.Data) == "hello ferry", describe(job))
	check("Consume returns namespace and queue", job.Namespace == ns && job.Queue == q,
		fmt.Sprintf("want %s/%s, got %s/%s", ns, q, job.Namespace, job.Queue))
	check("Consume returns the remaining ttl (50 < ttl <= 60)", job.TTL > 50 && job.TTL <= 60, describe(job))
	check("Consume returns remain_tries = tries - 1", job.RemainTries == 2, describe(job))
	check("Consume returns nil attributes for a job without any", job.Attributes == nil, describe(job))
	check("Consume returns elapsed_ms since publish (0 <= elapsed < 30 s)",
		job.ElapsedMS >= 0 && job.ElapsedMS < 30000, fmt.Sprintf("elapsed_ms=%d", job.ElapsedMS))
	mustAck(q, id)

	q = queue("attrs")
	attributes := map[string]string{"foo": "bar", "trace-id": "abc-123"}
	id, err = cli.PublishJob(&client.JobRequest{Queue: q, Data: []byte("with attributes"), TTL: 120, Tries: 1, Attributes: attributes})
	check("PublishJob with attributes returns a job id", err == nil && id != "", fmt.Sprintf("id=%q err=%v", id, err))

	job, err = cli.Consume(q, 30, 0)
	check("Consume returns the job published with PublishJob", err == nil && job != nil && job.ID == id,
		fmt.Sprintf("want id %s, got %s", id, got(job, err)))
	check("Consume returns the PublishJob data", string(job.Data) == "with attributes", describe(job))
	check("Consume returns the attributes as sent", reflect.DeepEqual(job.Attributes, attributes),
		fmt.Sprintf("want %v, got %v", attributes, job.Attributes))
	check("Consume returns remain_tries 0 for tries 1", job.RemainTries == 0, describe(job))
	check("Consume returns the remaining ttl (110 < ttl <= 120)", job.TTL > 110 && job.TTL <= 120, describe(job))
	mustAck(q, id)
}

func testBatchPublishAndConsume() {
	q := queue("batch")
	values := []interface{}{map[string]interface{}{"n": 1, "s": "x"}, "two", 3, []int{4, 5}, true}
	want := []string{`{"n":1,"s":"x"}`, `"two"`, `3`, `[4,5]`, `true`}

	ids, err := cli.BatchPublish(q, values, 60, 1, 0)
	check("BatchPublish returns one job id per value", err == nil && len(ids) == len(values),
		fmt.Sprintf("ids=%v err=%v", ids, err))
	distinct := map[string]bool{}
	for _, id := range ids {
		if id != "" {
			distinct[id] = true
		}
	}
	check("BatchPublish job ids are distinct and non-empty", len(distinct) == len(ids), fmt.Sprintf("ids=%v", ids))

	jobs, err := cli.BatchConsume([]string{q}, 10, 30, 0)
	check("BatchConsume with count 10 returns all published jobs", err == nil && len(jobs) == len(values),
		fmt.Sprintf("got %d jobs, err=%v", len(jobs), err))
	inOrder, rawData := true, true
	var seen []string
	for i, job := range jobs {
		seen = append(seen, fmt.Sprintf("%s=%s", job.ID, job.Data))
		inOrder = inOrder && job.ID == ids[i]
		rawData = rawData && string(job.Data) == want[i]
	}
	check("BatchConsume returns the jobs in publish order", inOrder, fmt.Sprintf("want ids %v, got %v", ids, seen))
	check("BatchConsume data is the raw JSON text of each element", rawData, fmt.Sprintf("want %v, got %v", want, seen))
	for _, job := range jobs {
		mustAck(q, job.ID)
	}

	// With count > 1 lmstfy answers an array even for a single job; the client parses it as one.
	id := mustPublish(q, "single", 60, 1)
	jobs, err = cli.BatchConsume([]string{q}, 3, 30, 0)
	check("BatchConsume with count 3 and one ready job returns that job", err == nil && len(jobs) == 1 && jobs[0].ID == id,
		fmt.Sprintf("want [%s], got %d jobs, err=%v", id, len(jobs), err))
	mustAck(q, id)

	jobs, err = cli.BatchConsume([]string{q}, 3, 30, 0)
	check("BatchConsume on an empty queue returns (nil, nil)", jobs == nil && err == nil,
		fmt.Sprintf("jobs=%v err=%v", jobs, err))
}

func testEmptyQueueAndLongPoll() {
	q := queue("empty")
	job, err := cli.Consume(q, 30, 0)
	check("Consume on an empty queue returns (nil, nil)", job == nil && err == nil, got(job, err))

	start := time.Now()
	job, err = cli.Consume(q, 30, 2)
	elapsed := time.Since(start)
	check("Consume with timeout 2 on an empty queue returns (nil, nil)", job == nil && err == nil, got(job, err))
	check("Consume with timeout 2 on an empty queue waits about 2 s",
		elapsed >= 1800*time.Millisecond && elapsed < 4*time.Second, fmt.Sprintf("waited %v", elapsed))

	q = queue("longpoll")
	published := make(chan string, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		id, err := cli.Publish(q, []byte("late"), 60, 1, 0)
		if err != nil {
			fail("Publish during a long poll failed: %v", err)
		}
		published <- id
	}()
	start = time.Now()
	job, err = cli.Consume(q, 30, 5)
	elapsed = time.Since(start)
	check("Consume with timeout returns a job published while it waits", err == nil && job != nil && string(job.Data) == "late",
		got(job, err))
	id := <-published
	check("the long-polled job is the published one", job.ID == id, fmt.Sprintf("want %s, got %s", id, job.ID))
	check("the long poll returns soon after the publish (< 4 s)", elapsed < 4*time.Second, fmt.Sprintf("waited %v", elapsed))
	mustAck(q, id)
}

func testConsumeFromQueuesPriority() {
	high, low := queue("prio-high"), queue("prio-low")
	lowID := mustPublish(low, "low", 60, 1)
	highID := mustPublish(high, "high", 60, 1)

	job, err := cli.ConsumeFromQueues(30, 0, high, low)
	check("ConsumeFromQueues returns the job of the first queue first", err == nil && job != nil && job.ID == highID,
		fmt.Sprintf("want %s, got %s", highID, got(job, err)))
	check("ConsumeFromQueues job names the first queue", job.Queue == high, fmt.Sprintf("want %s, got %s", high, job.Queue))
	check("ConsumeFromQueues job carries the first queue's data", string(job.Data) == "high", describe(job))

	job, err = cli.ConsumeFromQueues(30, 0, high, low)
	check("ConsumeFromQueues then returns the job of the second queue", err == nil && job != nil && job.ID == lowID,
		fmt.Sprintf("want %s, got %s", lowID, got(job, err)))
	check("ConsumeFromQueues job names the second queue", job.Queue == low, fmt.Sprintf("want %s, got %s", low, job.Queue))

	job, err = cli.ConsumeFromQueues(30, 0, high, low)
	check("ConsumeFromQueues on empty queues returns (nil, nil)", job == nil && err == nil, got(job, err))

	published := make(chan string, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		id, err := cli.Publish(low, []byte("late low"), 60, 1, 0)
		if err != nil {
			fail("Publish during a multi-queue long poll failed: %v", err)
		}
		published <- id
	}()
	job, err = cli.ConsumeFromQueues(30, 5, high, low)
	id := <-published
	check("ConsumeFromQueues with timeout returns a job published to the second queue while it waits",
		err == nil && job != nil && job.ID == id && job.Queue == low, fmt.Sprintf("want %s in %s, got %s", id, low, got(job, err)))

	laterHighID := mustPublish(high, "later high", 60, 1)
	job, err = cli.ConsumeFromQueues(30, 0, high, low)
	check("ConsumeFromQueues returns a job published to the first queue later", err == nil && job != nil &&
		job.ID == laterHighID && job.Queue == high, fmt.Sprintf("want %s in %s, got %s", laterHighID, high, got(job, err)))
	mustAck(high, highID)
	mustAck(high, laterHighID)
	mustAck(low, lowID)
	mustAck(low, id)
}

func testAck() {
	q := queue("ack")
	id := mustPublish(q, "ack me", 60, 2)
	job := mustConsume(q, 30)
	e := cli.Ack(q, job.ID)
	check("Ack of a consumed job returns nil", e == nil, apiErr(e))
	peeked, e := cli.PeekJob(q, id)
	check("PeekJob of an acked job returns (nil, nil)", peeked == nil && e == nil,
		fmt.Sprintf("job=%s err=%s", describe(peeked), apiErr(e)))
	consumed, err := cli.Consume(q, 30, 0)
	check("an acked job is not consumed again", consumed == nil && err == nil, got(consumed, err))
	e = cli.Ack(q, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	check("Ack of an unknown job id returns nil (204)", e == nil, apiErr(e))
}

func testSizeAndPeek() {
	q := queue("peek")
	size, e := cli.QueueSize(q)
	check("QueueSize of an unused queue is 0", e == nil && size == 0, fmt.Sprintf("size=%d err=%s", size, apiErr(e)))
	head, e := cli.PeekQueue(q)
	check("PeekQueue on an empty queue returns (nil, nil)", head == nil && e == nil,
		fmt.Sprintf("job=%s err=%s", describe(head), apiErr(e)))

	ids := []string{mustPublish(q, "first", 60, 2), mustPublish(q, "second", 60, 2), mustPublish(q, "third", 60, 2)}
	size, e = cli.QueueSize(q)
	check("QueueSize counts the ready jobs", e == nil && size == 3, fmt.Sprintf("size=%d err=%s", size, apiErr(e)))

	head, e = cli.PeekQueue(q)
	check("PeekQueue returns the head of the queue", e == nil && head != nil && head.ID == ids[0],
		fmt.Sprintf("want %s, got job=%s err=%s", ids[0], describe(head), apiErr(e)))
	check("PeekQueue returns the head's data, queue and stored tries",
		string(head.Data) == "first" && head.Queue == q && head.Namespace == ns && head.RemainTries == 2, describe(head))
	check("PeekQueue returns the remaining ttl (50 < ttl <= 60)", head.TTL > 50 && head.TTL <= 60, describe(head))
	size, e = cli.QueueSize(q)
	check("PeekQueue does not consume (size unchanged)", e == nil && size == 3, fmt.Sprintf("size=%d err=%s", size, apiErr(e)))

	job, e := cli.PeekJob(q, ids[1])
	check("PeekJob by id returns that job", e == nil && job != nil && job.ID == ids[1] && string(job.Data) == "second" && job.Queue == q,
		fmt.Sprintf("want %s, got job=%s err=%s", ids[1], describe(job), apiErr(e)))
	missing, e := cli.PeekJob(q, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	check("PeekJob of an unknown id returns (nil, nil)", missing == nil && e == nil,
		fmt.Sprintf("job=%s err=%s", describe(missing), apiErr(e)))

	consumed := mustConsume(q, 30)
	check("Consume after peeking returns the peeked head", consumed.ID == ids[0], fmt.Sprintf("want %s, got %s", ids[0], consumed.ID))
	size, e = cli.QueueSize(q)
	check("QueueSize excludes a consumed job", e == nil && size == 2, fmt.Sprintf("size=%d err=%s", size, apiErr(e)))
	job, e = cli.PeekJob(q, consumed.ID)
	check("PeekJob finds a job that is being worked on", e == nil && job != nil && job.ID == consumed.ID,
		fmt.Sprintf("job=%s err=%s", describe(job), apiErr(e)))
	for _, id := range ids {
		mustAck(q, id)
	}
}

func testDeadLetter() {
	q := queue("dead")
	size, head, e := cli.PeekDeadLetter(q)
	check("PeekDeadLetter of an unused queue reports size 0 and head \"\"", e == nil && size == 0 && head == "",
		fmt.Sprintf("size=%d head=%q err=%s", size, head, apiErr(e)))

	id := mustPublish(q, "doomed", 120, 1)
	job, err := cli.Consume(q, 1, 0)
	check("Consume with ttr 1 of a job with tries 1 returns it with remain_tries 0",
		err == nil && job != nil && job.ID == id && job.RemainTries == 0, got(job, err))
	size, head, e = waitForDeadLetter(q, id)
	check("an unacked job with no tries left reaches the dead letter (size 1, head = job id)",
		e == nil && size == 1 && head == id, fmt.Sprintf("after 10 s: size=%d head=%q err=%s, want head %s", size, head, apiErr(e), id))
	dead, e := cli.PeekJob(q, id)
	check("PeekJob finds a dead-lettered job", e == nil && dead != nil && dead.ID == id && string(dead.Data) == "doomed",
		fmt.Sprintf("job=%s err=%s", describe(dead), apiErr(e)))
	qsize, e := cli.QueueSize(q)
	check("QueueSize excludes dead-lettered jobs", e == nil && qsize == 0, fmt.Sprintf("size=%d err=%s", qsize, apiErr(e)))

	count, e := cli.RespawnDeadLetter(q, 1, 60)
	check("RespawnDeadLetter(limit 1, ttl 60) returns count 1", e == nil && count == 1,
		fmt.Sprintf("count=%d err=%s", count, apiErr(e)))
	size, head, e = cli.PeekDeadLetter(q)
	check("PeekDeadLetter after respawn reports size 0 and head \"\"", e == nil && size == 0 && head == "",
		fmt.Sprintf("size=%d head=%q err=%s", size, head, apiErr(e)))
	job, err = cli.Consume(q, 30, 0)
	check("a respawned job can be consumed again", err == nil && job != nil && job.ID == id && string(job.Data) == "doomed",
		fmt.Sprintf("want %s, got %s", id, got(job, err)))
	check("a respawned job has tries 1 (remain_tries 0) and the new ttl (50 < ttl <= 60)",
		job.RemainTries == 0 && job.TTL > 50 && job.TTL <= 60, describe(job))
	mustAck(q, id)

	count, e = cli.RespawnDeadLetter(q, 1, 60)
	check("RespawnDeadLetter on an empty dead letter returns count 0", e == nil && count == 0,
		fmt.Sprintf("count=%d err=%s", count, apiErr(e)))

	id2 := mustPublish(q, "doomed again", 120, 1)
	job, err = cli.Consume(q, 1, 0)
	check("a second job is consumed with ttr 1", err == nil && job != nil && job.ID == id2, got(job, err))
	size, head, e = waitForDeadLetter(q, id2)
	check("the second job reaches the dead letter", e == nil && size == 1 && head == id2,
		fmt.Sprintf("after 10 s: size=%d head=%q err=%s, want head %s", size, head, apiErr(e), id2))
	e = cli.DeleteDeadLetter(q, 1)
	check("DeleteDeadLetter(queue, 1) returns nil", e == nil, apiErr(e))
	size, head, e = cli.PeekDeadLetter(q)
	check("PeekDeadLetter after delete reports size 0 and head \"\"", e == nil && size == 0 && head == "",
		fmt.Sprintf("size=%d head=%q err=%s", size, head, apiErr(e)))
	dead, e = cli.PeekJob(q, id2)
	check("PeekJob of a deleted dead job returns (nil, nil)", dead == nil && e == nil,
		fmt.Sprintf("job=%s err=%s", describe(dead), apiErr(e)))
}

func testRePublish() {
	q := queue("republish")
	id := mustPublish(q, "again", 60, 1)
	job := mustConsume(q, 30)
	newID, err := cli.RePublish(job, 60, 3, 0)
	check("RePublish returns a new job id", err == nil && newID != "" && newID != id,
		fmt.Sprintf("old=%s new=%q err=%v", id, newID, err))
	old, e := cli.PeekJob(q, id)
	check("RePublish acks the old job (PeekJob returns (nil, nil))", old == nil && e == nil,
		fmt.Sprintf("job=%s err=%s", describe(old), apiErr(e)))
	again, err := cli.Consume(q, 30, 0)
	check("the republished job is consumable", err == nil && again != nil && again.ID == newID,
		fmt.Sprintf("want %s, got %s", newID, got(again, err)))
	check("the republished job has the old data and the new tries (remain_tries 2)",
		bytes.Equal(again.Data, []byte("again")) && again.RemainTries == 2, describe(again))
	mustAck(q, newID)
}

func testWrongToken() {
	q := queue("auth")
	bad := client.NewLmstfyClient(host, port, ns, "not-a-valid-token")
	id, err := bad.Publish(q, []byte("nope"), 60, 1, 0)
	apiError, isAPIError := err.(*client.APIError)
	check("Publish with a wrong token fails with an *APIError", id == "" && isAPIError,
		fmt.Sprintf("id=%q err=%#v", id, err))
	check("the wrong-token error is a response error whose reason contains [401]",
		apiError.Type == client.ResponseErr && strings.Contains(apiError.Reason, "[401]"), apiError.Error())
	check("the wrong-token error carries the X-Request-ID", apiError.RequestID != "", apiError.Error())

	job, err := bad.Consume(q, 30, 0)
	apiError, isAPIError = err.(*client.APIError)
	check("Consume with a wrong token fails with [401]", job == nil && isAPIError && strings.Contains(apiError.Reason, "[401]"),
		got(job, err))
	size, e := cli.QueueSize(q)
	check("no job was published with the wrong token", e == nil && size == 0, fmt.Sprintf("size=%d err=%s", size, apiErr(e)))
}
